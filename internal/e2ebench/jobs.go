package main

import "time"

// A job is one way of turning the served segment into something a backend
// can use, measured on every input: VPP's own C exporter, or otelcol-vpp
// with a shipped configuration and --set overrides of endpoints, interval
// and (for the variants) the one setting under test.
type job struct {
	name string
	// cExporter: run vpp_prometheus_export instead of the collector.
	cExporter bool
	// config is the shipped collector configuration (under config/).
	config string
	// sets are extra --set overrides of that configuration.
	sets []string
	// env is extra environment of the process (e.g. GOMEMLIMIT).
	env []string
	// how the harness sees one scrape through:
	// pull: it GETs /metrics once per interval (C exporter, Prometheus);
	// debug: the debug exporter logs one line per scrape;
	// sink: the OTLP sink (gRPC or HTTP, after the pipeline's exporter)
	// receives the scrape's points.
	via via
	// gzip: send Accept-Encoding: gzip with each /metrics request, as a
	// Prometheus server does.
	gzip bool
	// variant: only run with -variants (the settings study of otlp.yaml).
	variant bool
	// target is the P7 goal for this job's CPU ratio to the C exporter
	// (0: none).
	target float64
}

type via int

const (
	viaPull via = iota
	viaDebug
	viaSink
)

const (
	otlpConfig = "otlp.yaml"
	promConfig = "prometheus.yaml"
)

// receiverAlone keeps otlp.yaml's receiver and drops everything after it
// but a debug exporter that logs one line per scrape.
var receiverAlone = []string{
	"service::pipelines::metrics::processors=[]",
	"service::pipelines::metrics::exporters=[debug]",
	"exporters::debug::verbosity=basic",
}

// previousOTLP is the otlp.yaml exporter shipped before OTLP/HTTP: otlp_grpc
// with gzip, which grpc-go always runs at gzip's default level 6.
var previousOTLP = []string{
	"exporters::otlp_grpc::compression=gzip",
	"exporters::otlp_grpc::tls::insecure=true",
	"service::pipelines::metrics::exporters=[otlp_grpc]",
}

var jobs = []job{
	{name: "vpp_prometheus_export (VPP's C exporter)", cExporter: true, via: viaPull, gzip: true},
	{name: "receiver alone -> debug", config: otlpConfig, sets: receiverAlone, via: viaDebug, target: 0.1},
	// What the README recommends for every OTLP backend, a Collector
	// gateway included: the shipped file (OTLP/HTTP, gzip level 1).
	{name: "config/otlp.yaml (OTLP/HTTP, gzip level 1) -> OTLP/HTTP sink", config: otlpConfig, via: viaSink, target: 0.25},
	{name: "config/prometheus.yaml, 1 /metrics per interval (gzip)", config: promConfig, via: viaPull, gzip: true, target: 0.5},

	// Settings study of otlp.yaml (-variants): one change at a time, through
	// the environment variables the file documents where it has one. A
	// variant that fails (e.g. a request over a sink's limit) is a finding,
	// not a failure of the run.
	{name: "otlp.yaml, gzip level 6 (gzip's default)", config: otlpConfig, env: []string{"OTLP_COMPRESSION_LEVEL=6"}, via: viaSink, variant: true},
	{name: "otlp.yaml, compression none", config: otlpConfig, env: []string{"OTLP_COMPRESSION=none"}, via: viaSink, variant: true},
	{name: "otlp.yaml, compression zstd (level 1: fastest)", config: otlpConfig, env: []string{"OTLP_COMPRESSION=zstd"}, via: viaSink, variant: true},
	{name: "otlp.yaml, compression snappy", config: otlpConfig, env: []string{"OTLP_COMPRESSION=snappy", "OTLP_COMPRESSION_LEVEL=0"}, via: viaSink, variant: true},
	{name: "otlp.yaml as shipped before: otlp_grpc, gzip (level 6) -> OTLP/gRPC sink", config: otlpConfig, sets: previousOTLP, via: viaSink, variant: true},
	{name: "otlp.yaml without batch", config: otlpConfig, sets: []string{"service::pipelines::metrics::processors=[memory_limiter,resource_detection]"}, via: viaSink, variant: true},
	{name: "otlp.yaml, exporter's sending_queue batch (max 8192) instead of batch", config: otlpConfig, sets: []string{
		"service::pipelines::metrics::processors=[memory_limiter,resource_detection]",
		"exporters::otlp_http::sending_queue::batch::max_size=8192",
	}, via: viaSink, variant: true},
	{name: "otlp.yaml without memory_limiter", config: otlpConfig, sets: []string{"service::pipelines::metrics::processors=[resource_detection,batch]"}, via: viaSink, variant: true},
	{name: "otlp.yaml without resource_detection", config: otlpConfig, sets: []string{"service::pipelines::metrics::processors=[memory_limiter,batch]"}, via: viaSink, variant: true},
	{name: "otlp.yaml with GOMEMLIMIT=100MiB", config: otlpConfig, env: []string{"GOMEMLIMIT=100MiB"}, via: viaSink, variant: true},
	{name: "prometheus.yaml, 1 /metrics per interval (identity)", config: promConfig, via: viaPull, variant: true},
}

// An input is a segment served by `vppstat serve --replay`, with the
// collection interval used for it (long enough that every job keeps up).
type input struct {
	name     string
	segment  string
	interval time.Duration
	// ifs is its interface count, for the RSS target at 2,000 interfaces.
	ifs int
}

// baseline jobs always run: the others are measured against the C
// exporter, and the sink counts scrapes with the receiver-alone job's
// points per scrape.
func (j job) baseline() bool { return j.cExporter || j.via == viaDebug }
