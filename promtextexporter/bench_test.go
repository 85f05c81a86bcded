package promtextexporter

import (
	"context"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// benchInterfaces sizes the benchmark input: vppShaped(2000) is 50,003
// points, close to the receiver's output on the 2,005-interface VPP the
// targets were measured on.
const benchInterfaces = 2000

// benchSettings are the settings the benchmarks compare: the contrib
// exporter's that could change its cost, and ours with the defaults.
var benchSettings = []setting{
	{name: "defaults"},
	{name: "without_scope_info", withoutScopeInfo: true},
	{name: "without_suffixes", noSuffixes: true},
	{name: "resource_to_telemetry", resourceLabels: true},
	// config/prometheus.yaml's
	{name: "shipped", resourceLabels: true, withoutScopeInfo: true},
}

// cpuTime is the process's user+system CPU time: on a shared machine the
// CPU a benchmark burns is steadier than its wall time.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type benchExporter struct {
	name    string
	factory exporter.Factory
	config  func(s setting, endpoint string) component.Config
}

var benchExporters = []benchExporter{
	{"contrib", prometheusexporter.NewFactory(), func(s setting, e string) component.Config { return s.contrib(e) }},
	{"prometheus_text", NewFactory(), func(s setting, e string) component.Config { return s.ours(e) }},
}

// BenchmarkConsume measures ConsumeMetrics of one steady-state scrape (the
// same series again) per exporter and setting; ns/point is per input point.
// The contrib exporter mutates its input with resource_to_telemetry, so it
// gets a fresh copy each time, made outside the timer.
func BenchmarkConsume(b *testing.B) {
	md := vppShaped(benchInterfaces, now())
	points := float64(md.DataPointCount())
	for _, s := range benchSettings {
		for _, be := range benchExporters {
			b.Run(s.name+"/"+be.name, func(b *testing.B) {
				in := pmetric.NewMetrics()
				md.CopyTo(in)
				exp := startExporter(b, be.factory, be.config(s, freeEndpoint(b)))
				mutates := exp.Capabilities().MutatesData
				require.NoError(b, exp.ConsumeMetrics(context.Background(), in))
				b.ReportAllocs()
				cpu0 := cpuTime(b)
				b.ResetTimer()
				for range b.N {
					if mutates {
						b.StopTimer()
						in = pmetric.NewMetrics()
						md.CopyTo(in)
						b.StartTimer()
					}
					if err := exp.ConsumeMetrics(context.Background(), in); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/points, "ns/point")
				if !mutates { // the copies' CPU would count otherwise
					b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
				}
			})
		}
	}
}

// BenchmarkMetricsRequest measures one GET /metrics over a real socket per
// exporter and setting, uncompressed and gzip (the body read, not inflated);
// ns/series is per series served.
func BenchmarkMetricsRequest(b *testing.B) {
	md := vppShaped(benchInterfaces, now())
	for _, s := range benchSettings {
		for _, be := range benchExporters {
			for _, enc := range []string{"identity", "gzip"} {
				b.Run(s.name+"/"+be.name+"/"+enc, func(b *testing.B) {
					endpoint := freeEndpoint(b)
					exp := startExporter(b, be.factory, be.config(s, endpoint))
					in := pmetric.NewMetrics()
					md.CopyTo(in)
					require.NoError(b, exp.ConsumeMetrics(context.Background(), in))
					series := 0
					for _, f := range parse(b, scrape(b, endpoint)) {
						series += len(f.Series)
					}
					require.Equal(b, md.DataPointCount(), series)

					client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
					req, err := http.NewRequest(http.MethodGet, "http://"+endpoint+"/metrics", nil)
					require.NoError(b, err)
					req.Header.Set("Accept-Encoding", enc)
					var size int64
					b.ReportAllocs()
					cpu0 := cpuTime(b)
					b.ResetTimer()
					for range b.N {
						resp, err := client.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						size, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != http.StatusOK {
							b.Fatal(err, resp.Status)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(md.DataPointCount()), "ns/series")
					b.ReportMetric(float64(size), "bytes")
					b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
				})
			}
		}
	}
}
