// Package prometheus holds the end-to-end test (in its _test.go file) in
// which a real Prometheus server, built from the github.com/prometheus/
// prometheus module, scrapes otelcol-vpp running the shipped
// config/prometheus.yaml against a replayed capture of a real VPP, and its
// query API must return loop0's counters exactly as VPP's own dump of that
// segment has them. Building Prometheus takes minutes, so this runs only
// through `make prometheus-e2e`, which builds it and passes PROMETHEUS_BIN,
// OTELCOL_VPP_BIN and VPPSTAT_BIN. Without them the test skips, except
// under CI=true, where a missing binary fails it.
package prometheus
