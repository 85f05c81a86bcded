package vppstatsreceiver

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// BenchmarkPdataPoint is the floor of a scrape's per-point cost: appending
// one cumulative point with an interface's attributes (name, index,
// direction) to a pre-sized slice, and nothing else. "put" builds the
// attributes with PutStr/PutInt on a pre-sized map (what the scraper does);
// "copy" copies a template map built once per series.
func BenchmarkPdataPoint(b *testing.B) {
	const n = 10000
	names := make([]string, n)
	tmpl := make([]pcommon.Map, n)
	for i := range names {
		names[i] = "GigabitEthernet0/8/0." + string(rune('a'+i%26))
		tmpl[i] = pcommon.NewMap()
		tmpl[i].PutStr("vpp.interface.name", names[i])
		tmpl[i].PutInt("vpp.interface.index", int64(i))
		tmpl[i].PutStr("network.io.direction", "receive")
	}
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
					a.PutStr("vpp.interface.name", names[i])
					a.PutInt("vpp.interface.index", int64(i))
					a.PutStr("network.io.direction", "receive")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/point")
		})
	}
}
