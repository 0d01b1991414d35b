# luxncp — see README.md. Two commands matter: `make run` and `make test`.
GO        ?= go
GOFLAGS_TEST ?=

## Variables (override on the command line, e.g. make run ADDR=127.0.0.1:9443 NATIONAL_ADDR=127.0.0.1:9081):
##   ADDR           gateway HTTPS address of make run; make conformance and make load test https://ADDR
##   NATIONAL_ADDR  demo national FHIR backend address of make run
##   STATE_DIR      state directory (dev PKI, audit, outbox; reports of make conformance and make load)
##   RATE, DURATION the rate and length of make load
##   BIN            where make build puts the luxncp binary
ADDR          ?= 127.0.0.1:8443
NATIONAL_ADDR ?= 127.0.0.1:8081
STATE_DIR     ?= ./var
RATE          ?= 20/s
DURATION      ?= 60s
BIN           ?= ./bin/luxncp

.PHONY: help run run-aws test build tools lambda bench bench-lambda terminology-import conformance load clean

## help: this list of targets and variables
help:
	@sed -n 's/^## \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

## run: build, then start the whole gateway locally on ADDR and NATIONAL_ADDR (a busy port fails at once);
##      Ctrl-C finishes requests in flight and exits 0
run: build
	$(BIN) serve --foreground --state-dir $(STATE_DIR) --addr $(ADDR) --national-addr $(NATIONAL_ADDR)

## run-aws: the same gateway on its AWS path: every functions/<name> binary under a local Lambda Runtime API
##      with terraform/'s environment, on the AWS emulators (scripts/install-aws-emulators), behind a local
##      mutual TLS API Gateway front on ADDR (payload 2.0); same STATE_DIR and NATIONAL_ADDR as make run
FUNCTIONS_DIR ?= $(STATE_DIR)/aws/functions
run-aws: build
	@scripts/install-aws-emulators
	$(GO) build -o $(FUNCTIONS_DIR)/ ./functions/...
	$(BIN) serve-aws --foreground --functions $(FUNCTIONS_DIR) --state-dir $(STATE_DIR) --addr $(ADDR) --national-addr $(NATIONAL_ADDR)

## test: every test (installs xmlsec1, xmllint, Chromium and Terraform first when missing), then
## the concurrency-heavy packages under the race detector and the clock-sensitive ones with the
## clock a year ahead (LUXNCP_CLOCK_OFFSET, see internal/clock). Reports go outside the tree.
TEST_REPORTS ?= $(or $(TMPDIR),/tmp)/luxncp-test-reports
# Packages whose tests run concurrent writers, breakers, queues and servers: -race, a year ahead.
RACE_PKGS  = ./internal/clock ./internal/outbox ./internal/gateway ./internal/routing ./internal/audit/... \
             ./internal/national/demo ./internal/host ./internal/countryb ./internal/smp ./internal/discovery \
             ./internal/evidence/... ./internal/pki
# Packages whose behaviour depends on the date (certificates, assertions, outbox due times,
# prescription validity): a year ahead.
CLOCK_PKGS = ./internal/national ./internal/idtoken ./internal/wssec ./internal/xcpd ./internal/xca \
             ./internal/xdr ./internal/node ./internal/awsconfig ./internal/ncpclient ./internal/peer \
             ./internal/conformance/... ./internal/lurecords ./internal/kmssigner ./internal/awsrun ./internal/awsemu ./functions/... ./cmd/...
YEAR_AHEAD = LUXNCP_CLOCK_OFFSET=8760h

test: tools
	@gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	@$(GO) mod tidy -diff >/dev/null || (echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1)
	$(GO) vet ./...
	mkdir -p $(TEST_REPORTS)
	CONFORMANCE_REPORT_DIR=$(TEST_REPORTS) CONFORMANCE_LOAD_REPORT=$(TEST_REPORTS)/load.json LUXNCP_SCREENSHOTS=$(TEST_REPORTS)/screenshots \
		$(GO) test $(GOFLAGS_TEST) -count=1 -timeout 14m ./...
	$(YEAR_AHEAD) $(GO) test $(GOFLAGS_TEST) -count=1 -timeout 10m -race $(RACE_PKGS)
	$(YEAR_AHEAD) $(GO) test $(GOFLAGS_TEST) -count=1 -timeout 10m $(CLOCK_PKGS)

## tools: install the command-line tools the tests need (Debian packages; Terraform from the Go module proxy)
tools:
	@scripts/install-test-tools

## build: the operator CLI, BIN (with its VCS commit, for luxncp version)
build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/luxncp

## lambda: every function under functions/ as a reproducible linux/arm64 zip in dist/
lambda:
	scripts/build-lambda

## bench: the benchmarks recorded in docs/benchmarks.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## conformance: the conformance suite against the `make run` on ADDR (checked first: it must be the luxncp
##      of STATE_DIR); reports under STATE_DIR
conformance: build
	$(BIN) conformance run --target https://$(ADDR) --expect-luxncp --pki-dir $(STATE_DIR)/pki \
		--report $(STATE_DIR)/conformance.html --report $(STATE_DIR)/conformance.xml

## load: the pharmacist iteration at RATE for DURATION against the `make run` on ADDR (checked first);
##      fails below 95% of RATE or on any failed iteration
load: build
	$(BIN) conformance load --target https://$(ADDR) --expect-luxncp --pki-dir $(STATE_DIR)/pki \
		--rate $(RATE) --duration $(DURATION) --report $(STATE_DIR)/load.json

## bench-lambda: cold start, first invocation and peak RSS of every function's bootstrap
bench-lambda:
	$(GO) test ./internal/lambdabench -run '^$$' -bench 'FunctionColdStart|ColdStartEcho' -benchtime 10x

## terminology-import: refresh translations/ from ../shared/reference/terminology (review the diff)
terminology-import:
	$(GO) run ./cmd/luxncp terminology import

clean:
	rm -rf bin dist
