// Package promtextexporter is an OpenTelemetry Collector exporter (type
// prometheus_text) that serves the latest value of every series on a
// Prometheus /metrics endpoint, in the Prometheus text format.
//
// It names series exactly as the contrib prometheus exporter does (the same
// otlptranslator namers, the same labels for scope, job, instance, target_info
// and resource_to_telemetry_conversion), but stores each series as its
// rendered labels, keyed by them and found from a point by a hash of its raw
// attributes, so a steady-state scrape costs a map lookup per point and a
// /metrics request costs a copy and a number formatting per series: no per-point pmetric copies, no
// prometheus.Desc, no client_golang registry Gather and sort per request.
// Histograms and summaries are encoded by prometheus/common's expfmt from
// client_model messages; exponential histograms are dropped with a logged
// reason, since the text format cannot carry them.
//
// It is general over pdata and not specific to VPP.
package promtextexporter
