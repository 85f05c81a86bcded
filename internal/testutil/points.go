package testutil

import (
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Point is one data point of a metrics batch, with what it belongs to.
type Point struct {
	Metric   string
	Type     pmetric.MetricType
	Resource pcommon.Map
	// DP is the number data point (sums and gauges). A metric of another
	// type gives one Point with an empty DP, so that callers see it.
	DP pmetric.NumberDataPoint
}

// Number reports whether p is a sum's or a gauge's point.
func (p Point) Number() bool {
	return p.Type == pmetric.MetricTypeSum || p.Type == pmetric.MetricTypeGauge
}

// Value is the point's value as a float64, whichever its type.
func (p Point) Value() float64 {
	if p.DP.ValueType() == pmetric.NumberDataPointValueTypeDouble {
		return p.DP.DoubleValue()
	}
	return float64(p.DP.IntValue())
}

// Key is the point's attributes as AttrKey writes them.
func (p Point) Key() string { return AttrKey(p.DP.Attributes()) }

// Points flattens md into its points, in order.
func Points(md pmetric.Metrics) []Point {
	var out []Point
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		res := rms.At(i).Resource().Attributes()
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				default:
					out = append(out, Point{Metric: m.Name(), Type: m.Type(), Resource: res, DP: pmetric.NewNumberDataPoint()})
					continue
				}
				for p := range dps.Len() {
					out = append(out, Point{Metric: m.Name(), Type: m.Type(), Resource: res, DP: dps.At(p)})
				}
			}
		}
	}
	return out
}

// AttrKey writes attributes as "k=v,k=v", sorted: one string per series.
func AttrKey(a pcommon.Map) string {
	kv := make([]string, 0, a.Len())
	for k, v := range a.All() {
		kv = append(kv, k+"="+v.AsString())
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// Key writes the attribute pairs k1, v1, k2, v2... as AttrKey does.
func Key(kv ...string) string {
	parts := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+"="+kv[i+1])
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
