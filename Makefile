# Build, test and demo targets for vppstats. Everything works from a fresh
# clone: the only tools are Go (on PATH, or at /usr/local/go) and the ones the
# tools module internal/tools pins (ocb, mdatagen).
#
#   make demo      simulated VPP + otelcol-vpp, Prometheus on 127.0.0.1:8889
#   make test      vet, gofmt, unit/golden tests with -race, fuzz, e2e, live
#   make live      the tests against a real VPP (../shared/vpp/v26.06)
#   make otelcol   build/otelcol-vpp/otelcol-vpp (ocb, builder-config.yaml)
#   make vppstat   build/bin/vppstat
#   make vppstatsfs build/bin/vppstatsfs
#   make generate  regenerate the receiver's mdatagen code
#   make binapi    regenerate internal/vppapi/binapi from VPP v26.06's API files
#   make prometheus-e2e  a real Prometheus server scraping otelcol-vpp
#   make bench     benchmarks (make bench-go: Go benchmarks; make bench-e2e:
#                  end to end against VPP's own exporter)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(PATH):/usr/local/go/bin

GO        ?= go
BUILD     := $(CURDIR)/build
BIN       := $(BUILD)/bin
BUILDER   := $(BIN)/builder
MDATAGEN  := $(BIN)/mdatagen
VPPSTAT   := $(BIN)/vppstat
VPPSTATSFS := $(BIN)/vppstatsfs
OTELCOL_DIR := $(BUILD)/otelcol-vpp
OTELCOL   := $(OTELCOL_DIR)/otelcol-vpp

# Fuzzing time per target in `make test` (go test -fuzztime).
FUZZTIME  ?= 20s
# Extra flags for the unit test run, e.g. TESTFLAGS=-v.
TESTFLAGS ?=

# Packages of the main module, minus the end-to-end tests (which need the
# binaries and run in their own step).
UNIT_PKGS = $$($(GO) list ./... | grep -v /internal/e2e)

.PHONY: all demo test vet fmt-check unit fuzz e2e live otelcol vppstat vppstatsfs generate binapi bench bench-go bench-e2e prometheus-e2e tools clean

all: vppstat vppstatsfs otelcol

## Tools from the tools module (versions pinned in internal/tools/go.mod).
tools: $(BUILDER) $(MDATAGEN)

$(BUILDER): internal/tools/go.mod internal/tools/go.sum
	$(GO) -C internal/tools build -o $(BUILDER) go.opentelemetry.io/collector/cmd/builder

$(MDATAGEN): internal/tools/go.mod internal/tools/go.sum
	$(GO) -C internal/tools build -o $(MDATAGEN) go.opentelemetry.io/collector/cmd/mdatagen

## Binaries.
vppstat:
	$(GO) build -o $(VPPSTAT) ./cmd/vppstat

vppstatsfs:
	$(GO) build -o $(VPPSTATSFS) ./cmd/vppstatsfs

# ocb resolves the relative paths of builder-config.yaml from the current
# directory, so it always runs from the repository root. Generating the
# sources (and `go get`/`go mod tidy` of the distribution) happens again only
# when the manifest or the main module's dependencies change; compiling is
# incremental through Go's build cache.
$(OTELCOL_DIR)/go.mod: builder-config.yaml go.mod go.sum $(BUILDER)
	$(BUILDER) --config builder-config.yaml --skip-compilation
	touch $@

otelcol: $(OTELCOL_DIR)/go.mod
	$(BUILDER) --config builder-config.yaml --skip-generate --skip-get-modules
	@echo "built $(OTELCOL)"

## Code generation (mdatagen writes vppstatsreceiver/internal/metadata,
## documentation.md and the generated tests).
generate: $(MDATAGEN)
	cd vppstatsreceiver && $(MDATAGEN) metadata.yaml
	cd promtextexporter && $(MDATAGEN) metadata.yaml
	$(GO) build ./vppstatsreceiver/...

## VPP binary-API bindings (internal/vppapi/binapi) with govpp's
## binapi-generator, pinned in internal/tools, from the API definitions of the
## VPP build the tests run ($$VPPSTATS_VPP_DIR, default ../shared/vpp/v26.06).
## Only interface.api and what it imports.
VPP_DIR ?= $(if $(VPPSTATS_VPP_DIR),$(VPPSTATS_VPP_DIR),$(CURDIR)/../shared/vpp/v26.06)
BINAPI_VPP_VERSION ?= 26.06-release
binapi:
	rm -rf internal/vppapi/binapi
	VPP_VERSION=$(BINAPI_VPP_VERSION) $(GO) -C internal/tools tool binapi-generator \
		--input=$(VPP_DIR)/api --output-dir=$(CURDIR)/internal/vppapi/binapi \
		--import-prefix=github.com/vppstats/vppstats/internal/vppapi/binapi \
		--no-source-path-info --gen= interface
	$(GO) build ./internal/vppapi/...

## Demo: simulated VPP on a socket, otelcol-vpp with config/demo.yaml.
demo: vppstat otelcol
	VPPSTAT_BIN=$(VPPSTAT) OTELCOL_VPP_BIN=$(OTELCOL) ./scripts/demo.sh

## Tests.
test: vet fmt-check unit fuzz e2e live

vet:
	$(GO) vet ./...
	$(GO) vet -tags vpp ./...

fmt-check:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './build/*') | grep -v '^build/' || true); \
	if [ -n "$$bad" ]; then echo "gofmt needed on:"; echo "$$bad"; exit 1; fi; \
	echo "gofmt: ok"

unit:
	$(GO) test -race -count=1 -timeout 30m $(TESTFLAGS) $(UNIT_PKGS)

# One short run per fuzz target of internal/statseg (scripts/fuzz.sh tells
# Go 1.26's spurious end-of-fuzztime "context deadline exceeded" from a
# finding).
fuzz:
	GO=$(GO) ./scripts/fuzz.sh internal/statseg $(FUZZTIME)

e2e: vppstat otelcol
	VPPSTAT_BIN=$(VPPSTAT) OTELCOL_VPP_BIN=$(OTELCOL) $(GO) test -count=1 -timeout 15m -v ./internal/e2e/

# Tests against real VPPs (files *_vpp_test.go, build tag `vpp`, tests named
# TestVPP*): internal/vpptest starts VPP v26.06 from $VPPSTATS_VPP_DIR or
# ../shared/vpp/v26.06, one per test, in parallel (-parallel: they mostly
# wait on VPP and the clock, not the CPU). Without a VPP they skip, except
# with CI=true, where they fail. Needs root (VPP does).
LIVE_PKGS = ./internal/vpptest/ ./internal/statseg/ ./internal/segwriter/ ./internal/vppapi/ ./vppstatsreceiver/ ./internal/e2e/
live: vppstat otelcol
	VPPSTAT_BIN=$(VPPSTAT) OTELCOL_VPP_BIN=$(OTELCOL) $(GO) test -tags vpp -count=1 -timeout 20m -parallel 16 -run '^TestVPP' $(TESTFLAGS) $(LIVE_PKGS)

# Benchmarks of the reader (internal/statseg) and the receiver on the v26.06
# capture and simulated VPPs up to 50,000 interfaces x 8 threads
# (VPPSTATS_BENCH_LARGE=1; their segments take minutes to simulate the first
# time and are cached in ~/.cache/vppstats-bench), then one table of all of
# them (internal/benchtable), with govpp's DumpStats and PrepareDir/UpdateDir
# paths on the same segments (its version from go.mod next to each figure).
# govpp takes seconds per call from 10,000 interfaces on, so those run once
# (-benchtime=1x). Then bench-e2e. Raw output in build/bench.txt, the tables
# in build/bench.md.
BENCHFLAGS ?= -benchmem -timeout=90m
bench: bench-go bench-e2e
	cat $(BUILD)/bench-go.md $(BUILD)/bench-e2e.md > $(BUILD)/bench.md
	@echo "tables in $(BUILD)/bench.md"

bench-go:
	@mkdir -p $(BUILD); out=$(BUILD)/bench.txt; : > $$out; \
	export VPPSTATS_BENCH_LARGE=1; \
	echo "govpp: $$($(GO) list -m go.fd.io/govpp)" | tee -a $$out; \
	$(GO) test -run='^$$' -bench='^Benchmark(CopyFloor|Read)$$' $(BENCHFLAGS) ./internal/statseg/ | tee -a $$out; \
	$(GO) test -run='^$$' -bench='^BenchmarkGovpp(Dump|UpdateDir)$$/^(v26|sim-1000x)' $(BENCHFLAGS) ./internal/statseg/ | tee -a $$out; \
	$(GO) test -run='^$$' -bench='^BenchmarkGovpp(Dump|UpdateDir)$$/^sim-[1-9]0000x' -benchtime=1x $(BENCHFLAGS) ./internal/statseg/ | tee -a $$out; \
	$(GO) test -run='^$$' -bench='^Benchmark(Scrape|PdataPoint)$$' $(BENCHFLAGS) ./vppstatsreceiver/ | tee -a $$out; \
	$(GO) test -run='^TestScrapeHeapFlat$$' -count=1 -v -timeout=30m ./vppstatsreceiver/ | tee -a $$out; \
	$(GO) test -run='^$$' -bench='^Benchmark(Consume|MetricsRequest|RetainedHeap)$$' -benchtime=5x $(BENCHFLAGS) ./promtextexporter/ | tee -a $$out; \
	$(GO) run ./internal/benchtable < $$out | tee $(BUILD)/bench-go.md

# End to end (internal/e2ebench, ~10 minutes; the first time also the 10k x
# 4 simulation, if no other benchmark cached it): VPP's own
# vpp_prometheus_export against otelcol-vpp (receiver alone, the shipped
# config/otlp.yaml into a discarding OTLP sink, the shipped
# config/prometheus.yaml pulled once per interval), CPU per scrape and RSS of
# each process, on a 2,001-interface capture of the bundled VPP (made through
# vppctl the first time, ~10 s, then cached in ~/.cache/vppstats-bench) and
# the simulated 10,000 x 4 segment, each served by `vppstat serve --replay`
# with --update-interval equal to its collection interval, so that every
# scrape sees values changed in place as on a live VPP (heartbeat,
# last_update, interface and node counters; same epoch). The main jobs run in
# 3 rounds (-rounds), one after the other in each, and each row is the job's
# median round with its ratio to the C exporter of each round: the machine's
# speed drifts by minutes, and this keeps a slow minute out of the ratios.
# E2EBENCHFLAGS=-variants adds the settings study of config/otlp.yaml
# (compression, batching, processors, GOMEMLIMIT; ~8 more minutes).
E2EBENCHFLAGS ?=
bench-e2e: vppstat otelcol
	@mkdir -p $(BUILD)
	$(GO) run ./internal/e2ebench -otelcol $(OTELCOL) -vppstat $(VPPSTAT) -o $(BUILD)/bench-e2e.md $(E2EBENCHFLAGS)

# A real Prometheus server as the client of otelcol-vpp (config/prometheus.yaml
# against a replayed capture; internal/e2e/prometheus). The server is built
# from the github.com/prometheus/prometheus module (Prometheus 3.x releases
# are its v0.3xx versions) with its own go.mod, into a directory named after
# the version (so changing PROMETHEUS_VERSION rebuilds it): ~10 minutes
# of compiling the first time on 2 cores, so this is not part of `make test`.
PROMETHEUS_VERSION ?= v0.316.0
PROMETHEUS := $(BUILD)/prometheus-$(PROMETHEUS_VERSION)/prometheus
$(PROMETHEUS):
	GOBIN=$(dir $(PROMETHEUS)) $(GO) install github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION)

prometheus-e2e: vppstat otelcol $(PROMETHEUS)
	PROMETHEUS_BIN=$(PROMETHEUS) VPPSTAT_BIN=$(VPPSTAT) OTELCOL_VPP_BIN=$(OTELCOL) $(GO) test -count=1 -timeout 10m -v ./internal/e2e/prometheus/

clean:
	rm -rf $(BUILD) bin
