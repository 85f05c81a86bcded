package promtextexporter

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// BenchmarkRetainedHeap reports the live heap an exporter holds after one
// ConsumeMetrics and one /metrics request of vppShaped(benchInterfaces)
// (shipped settings), the input excluded: what the series store costs in
// RSS, before the GC's headroom.
func BenchmarkRetainedHeap(b *testing.B) {
	s := setting{resourceLabels: true, withoutScopeInfo: true}
	for _, be := range benchExporters {
		b.Run(be.name, func(b *testing.B) {
			md := vppShaped(benchInterfaces, now())
			var mb float64
			for range b.N {
				in := pmetric.NewMetrics()
				md.CopyTo(in)
				heap0 := heapInUse()
				endpoint := freeEndpoint(b)
				exp := startExporter(b, be.factory, be.config(s, endpoint))
				require.NoError(b, exp.ConsumeMetrics(context.Background(), in))
				scrape(b, endpoint)
				mb = float64(heapInUse()-heap0) / 1e6
				runtime.KeepAlive(md)
				runtime.KeepAlive(in)
				runtime.KeepAlive(exp)
			}
			b.ReportMetric(mb, "retained-MB")
		})
	}
}

// heapInUse is the live heap after a full GC.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
