package vppstatsreceiver

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

// BenchmarkPdataPoint is the floor of a scrape's per-point cost: appending
// one cumulative point with an interface's attributes (name, index,
// direction) to a pre-sized slice, and nothing else. "put" builds the
// attributes with PutStr/PutInt on a pre-sized map (what the scraper does);
// "copy" copies a template map built once per series; "mdatagen" records
// through the generated RecordVppInterfacePacketsDataPoint (linear since
// the identifying attributes are required) and sets the series' start on
// the point it appended.
func BenchmarkPdataPoint(b *testing.B) {
	const n = 10000
	names := make([]string, n)
	tmpl := make([]pcommon.Map, n)
	for i := range names {
		names[i] = "GigabitEthernet0/8/0." + string(rune('a'+i%26))
		tmpl[i] = pcommon.NewMap()
		tmpl[i].PutStr("network.interface.name", names[i])
		tmpl[i].PutInt("vpp.interface.index", int64(i))
		tmpl[i].PutStr("network.io.direction", "receive")
	}
	b.Run("10000-points/mdatagen", func(b *testing.B) {
		cfg := metadata.DefaultMetricsBuilderConfig()
		mb := metadata.NewMetricsBuilder(cfg, receivertest.NewNopSettings(metadata.Type))
		b.ReportAllocs()
		for b.Loop() {
			pts, _ := mb.Points(metadata.MetricVppInterfacePackets)
			pts.EnsureCapacity(n)
			for i := range n {
				mb.RecordVppInterfacePacketsDataPoint(2, int64(i), names[i], int64(i), metadata.AttributeNetworkIoDirectionReceive)
				pts.At(pts.Len() - 1).SetStartTimestamp(1)
			}
			mb.Emit()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/point")
	})
	for _, mode := range []string{"put", "copy"} {
		b.Run("10000-points/"+mode, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s := pmetric.NewNumberDataPointSlice()
				s.EnsureCapacity(n)
				for i := range n {
					dp := s.AppendEmpty()
					dp.SetStartTimestamp(1)
					dp.SetTimestamp(2)
					dp.SetIntValue(int64(i))
					if mode == "copy" {
						tmpl[i].CopyTo(dp.Attributes())
						continue
					}
					a := dp.Attributes()
					a.EnsureCapacity(3)
					a.PutStr("network.interface.name", names[i])
					a.PutInt("vpp.interface.index", int64(i))
					a.PutStr("network.io.direction", "receive")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/point")
		})
	}
}
