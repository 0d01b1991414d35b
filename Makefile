# luxncp — see README.md. Two commands matter: `make run` and `make test`.
GO        ?= go
STATE_DIR ?= ./var
GOFLAGS_TEST ?=

.PHONY: run test build tools lambda bench bench-lambda terminology-import conformance load clean

## run: start the whole gateway locally on its embedded defaults
run:
	$(GO) run ./cmd/luxncp serve --state-dir $(STATE_DIR)

## test: every test (installs xmlsec1, xmllint, Chromium and Terraform first when missing), then
## the concurrency-heavy packages under the race detector and the clock-sensitive ones with the
## clock a year ahead (LUXNCP_CLOCK_OFFSET, see internal/clock). Reports go outside the tree.
TEST_REPORTS ?= $(or $(TMPDIR),/tmp)/luxncp-test-reports
# Packages whose tests run concurrent writers, breakers, queues and servers: -race, a year ahead.
RACE_PKGS  = ./internal/clock ./internal/outbox ./internal/gateway ./internal/routing ./internal/audit/... \
             ./internal/national/demo ./internal/host ./internal/countryb
# Packages whose behaviour depends on the date (certificates, assertions, outbox due times,
# prescription validity): a year ahead.
CLOCK_PKGS = ./internal/national ./internal/wssec ./internal/pki ./internal/xcpd ./internal/xca \
             ./internal/xdr ./internal/node ./internal/awsconfig ./internal/ncpclient ./internal/peer \
             ./internal/conformance/... ./internal/lurecords ./internal/kmssigner ./functions/... ./cmd/...
YEAR_AHEAD = LUXNCP_CLOCK_OFFSET=8760h

test: tools
	@gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	@$(GO) mod tidy -diff >/dev/null || (echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1)
	$(GO) vet ./...
	mkdir -p $(TEST_REPORTS)
	CONFORMANCE_REPORT_DIR=$(TEST_REPORTS) CONFORMANCE_LOAD_REPORT=$(TEST_REPORTS)/load.json \
		$(GO) test $(GOFLAGS_TEST) -count=1 -timeout 14m ./...
	$(YEAR_AHEAD) $(GO) test $(GOFLAGS_TEST) -count=1 -timeout 10m -race $(RACE_PKGS)
	$(YEAR_AHEAD) $(GO) test $(GOFLAGS_TEST) -count=1 -timeout 10m $(CLOCK_PKGS)

## tools: install the command-line tools the tests need (Debian packages; Terraform from the Go module proxy)
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
