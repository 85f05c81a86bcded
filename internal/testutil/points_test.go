package testutil

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestPoints(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("vpp.instance", "a")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	sum := ms.AppendEmpty()
	sum.SetName("vpp.interface.packets")
	dp := sum.SetEmptySum().DataPoints().AppendEmpty()
	dp.SetIntValue(7)
	dp.Attributes().PutStr("network.io.direction", "receive")
	dp.Attributes().PutInt("vpp.interface.index", 1)
	g := ms.AppendEmpty()
	g.SetName("vpp.vector.rate")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1.5)
	h := ms.AppendEmpty()
	h.SetName("vpp.histogram")
	h.SetEmptyHistogram()

	ps := Points(md)
	if len(ps) != 3 {
		t.Fatalf("%d points, want 3", len(ps))
	}
	if p := ps[0]; p.Metric != "vpp.interface.packets" || p.Value() != 7 || p.Key() != Key("vpp.interface.index", "1", "network.io.direction", "receive") {
		t.Errorf("sum point %s %v %q", p.Metric, p.Value(), p.Key())
	}
	if v, _ := ps[0].Resource.Get("vpp.instance"); v.Str() != "a" {
		t.Errorf("resource %v", ps[0].Resource.AsRaw())
	}
	if p := ps[1]; p.Value() != 1.5 || !p.Number() {
		t.Errorf("gauge point %v", p.Value())
	}
	if p := ps[2]; p.Number() || p.Type != pmetric.MetricTypeHistogram {
		t.Errorf("histogram given as %v", p.Type)
	}
}
