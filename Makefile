# luxncp — see README.md. Two commands matter: `make run` and `make test`.
GO        ?= go
STATE_DIR ?= ./var
GOFLAGS_TEST ?=

.PHONY: run test build tools lambda bench bench-lambda terminology-import conformance load clean

## run: start the whole gateway locally on its embedded defaults
run:
	$(GO) run ./cmd/luxncp serve --state-dir $(STATE_DIR)

## test: every test (installs xmlsec1, xmllint and Saxon first when missing)
test: tools
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	$(GO) vet ./...
	mkdir -p var/test-reports
	CONFORMANCE_REPORT_DIR=$(CURDIR)/var/test-reports CONFORMANCE_LOAD_REPORT=$(CURDIR)/var/test-reports/load.json \
		$(GO) test $(GOFLAGS_TEST) -count=1 -timeout 14m ./...

## tools: install the command-line tools the tests need (Debian packages)
tools:
	@scripts/install-test-tools

build:
	$(GO) build -o bin/luxncp ./cmd/luxncp

## lambda: every function under functions/ as a reproducible linux/arm64 zip in dist/
lambda:
	scripts/build-lambda

## bench: the benchmarks recorded in docs/benchmarks.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## conformance: the conformance suite against a running `make run` (reports under var/)
conformance: build
	./bin/luxncp conformance run --target https://127.0.0.1:8443 --report var/conformance.html --report var/conformance.xml

## load: the pharmacist iteration under load against a running `make run`
load: build
	./bin/luxncp conformance load --target https://127.0.0.1:8443 --rate 20/s --duration 60s --report var/load.json

## bench-lambda: cold start, first invocation and peak RSS of every function's bootstrap
bench-lambda:
	$(GO) test ./internal/lambdabench -run '^$$' -bench 'FunctionColdStart|ColdStartEcho' -benchtime 10x

## terminology-import: refresh translations/ from ../shared/reference/terminology (review the diff)
terminology-import:
	$(GO) run ./cmd/luxncp terminology import

clean:
	rm -rf bin dist
