# City Code Platform — developer entry points.
#   make run    build and serve (starts a private PostgreSQL when DATABASE_URL is unset or unreachable)
#   make test   vet + every test against a real PostgreSQL and Redis + Rego tests with coverage
SHELL := /bin/bash
GO ?= go
BIN := bin/citycode
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/opencitycode/citycode/host/internal/server.Version=$(VERSION)
# The test binaries report wazero's real version, as the host binary does:
# then the WASM modules the suites have that binary precompile
# (wasmrttest.Warm) are loaded from the cache, not compiled again under the
# race detector, where compiling costs ten times more.
WAZERO_VERSION := $(shell $(GO) list -m -f '{{.Version}}' github.com/tetratelabs/wazero 2>/dev/null)
GOTEST_FLAGS ?= -count=1 -race -timeout 15m -ldflags=-X=github.com/tetratelabs/wazero/internal/version.version=$(WAZERO_VERSION)

.PHONY: all build run test vet fmt policy-test fuzz bench demo pg-start pg-stop clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./host/cmd/citycode

run: build
	@deploy/run.sh $(BIN)

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.data/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

policy-test: build
	$(BIN) policy test policies

# Fuzz targets, each run for FUZZTIME (CI: 60 s each). Their seed corpora
# (testdata/fuzz) also run as ordinary tests under make test; an input that
# found a bug stays there as a regression test.
FUZZTIME ?= 60s
FUZZ_TARGETS := ./sdk/codeformat:FuzzParse ./sdk/codeformat:FuzzParseHolder ./host/internal/auth/signature:FuzzVerify \
	./sdk/plugin:FuzzParseManifest ./host/internal/codeengine:FuzzReadSheet ./host/internal/interop:FuzzParseRules
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; done

# The plugin tests (sdk/plugintest) run the host binary built here.
test: vet policy-test build
	@envs=$$(deploy/env.sh --redis) && eval "$$envs" && \
	CITYCODE_BIN=$(abspath $(BIN)) $(GO) test $(GOTEST_FLAGS) ./...

bench: build
	$(GO) build -o bin/citycode-load ./host/cmd/citycode-load
	@envs=$$(deploy/env.sh --redis) && eval "$$envs" && \
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./host/internal/auth/signature/ ./host/internal/policy/ ./host/internal/audit/ ./host/internal/qr/ ./host/internal/events/ ./sdk/codeformat/ ./host/internal/pluginhost/wasmrt/ ./host/internal/pluginhost/nativert/
	@envs=$$(deploy/env.sh --redis) && eval "$$envs" && \
	$(GO) test -run '^$$' -bench 'Landing|DecodeRisk' -benchtime 3000x -count 3 ./host/internal/server/
	deploy/bench.sh

demo: build
	@envs=$$(deploy/env.sh) && eval "$$envs" && $(BIN) demo --json

pg-start:
	@deploy/pg-local.sh start

pg-stop:
	@deploy/pg-local.sh stop

clean:
	rm -rf bin
