# luxncp — see README.md. Two commands matter: `make run` and `make test`.
GO        ?= go
STATE_DIR ?= ./var
GOFLAGS_TEST ?=

.PHONY: run test build tools lambda bench terminology-import clean

## run: start the whole gateway locally on its embedded defaults
run:
	$(GO) run ./cmd/luxncp serve --state-dir $(STATE_DIR)

## test: every test (installs xmlsec1, xmllint and Saxon first when missing)
test: tools
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	$(GO) vet ./...
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

## terminology-import: refresh translations/ from ../shared/reference/terminology (review the diff)
terminology-import:
	$(GO) run ./cmd/luxncp terminology import

clean:
	rm -rf bin dist
