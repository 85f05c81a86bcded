package promtextexporter

import (
	"fmt"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// vppShaped builds one scrape shaped like the vppstats receiver's output on
// a VPP with ifs interfaces: per interface, rx/tx packets and bytes, drops,
// errors and the unicast/multicast/broadcast splits (counters with 3-4
// attributes), plus node and error counters and a few gauges; the resource
// carries vpp.instance and the socket path. With ifs = 2,000 it has about
// 60,000 points, the size measured on a real VPP.
func vppShaped(ifs int, ts pcommon.Timestamp) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("vpp.instance", "vpp-a")
	rm.Resource().Attributes().PutStr("vpp.stats.socket", "/run/vpp/stats.sock")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("github.com/vppstats/vppstats/vppstatsreceiver")
	sm.Scope().SetVersion("0.1.0-dev")
	ms := sm.Metrics()

	counter := func(name, unit, desc string) pmetric.NumberDataPointSlice {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		m.SetDescription(desc)
		s := m.SetEmptySum()
		s.SetIsMonotonic(true)
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		return s.DataPoints()
	}
	point := func(dps pmetric.NumberDataPointSlice, v int64) pcommon.Map {
		dp := dps.AppendEmpty()
		dp.SetStartTimestamp(1)
		dp.SetTimestamp(ts)
		dp.SetIntValue(v)
		return dp.Attributes()
	}
	iface := func(a pcommon.Map, i int) {
		a.PutStr("network.interface.name", fmt.Sprintf("GigabitEthernet0/%d/%d.%d", i/256, i%256/16, i))
		a.PutInt("vpp.interface.index", int64(i))
	}
	directions := []string{"receive", "transmit"}
	casts := []string{"unicast", "multicast", "broadcast"}
	protocols := []string{"ip4", "ip6", "mpls"}

	packets := counter("vpp.interface.packets", "{packet}", "Packets received or transmitted.")
	io := counter("vpp.interface.io", "By", "Bytes received or transmitted.")
	castPackets := counter("vpp.interface.cast.packets", "{packet}", "Packets by destination address class.")
	castIO := counter("vpp.interface.cast.io", "By", "Bytes by destination address class.")
	errs := counter("vpp.interface.errors", "{error}", "Errors.")
	drops := counter("vpp.interface.drops", "{packet}", "Dropped packets.")
	punts := counter("vpp.interface.punts", "{packet}", "Punted packets.")
	proto := counter("vpp.interface.protocol.packets", "{packet}", "Packets received by protocol.")
	for i := range ifs {
		for d, dir := range directions {
			v := int64(i*1000 + d)
			a := point(packets, v)
			iface(a, i)
			a.PutStr("network.io.direction", dir)
			a = point(io, v*64)
			iface(a, i)
			a.PutStr("network.io.direction", dir)
			a = point(errs, v%7)
			iface(a, i)
			a.PutStr("network.io.direction", dir)
			for c, cast := range casts {
				a = point(castPackets, v+int64(c))
				iface(a, i)
				a.PutStr("network.io.direction", dir)
				a.PutStr("vpp.interface.cast", cast)
				a = point(castIO, (v+int64(c))*64)
				iface(a, i)
				a.PutStr("network.io.direction", dir)
				a.PutStr("vpp.interface.cast", cast)
			}
		}
		iface(point(drops, int64(i)), i)
		iface(point(punts, int64(i/3)), i)
		for p, pr := range protocols {
			a := point(proto, int64(i+p))
			iface(a, i)
			a.PutStr("vpp.protocol", pr)
		}
	}
	nodeCalls := counter("vpp.node.calls", "{call}", "Node calls.")
	for n := range 1000 {
		a := point(nodeCalls, int64(n*17))
		a.PutStr("vpp.node.name", fmt.Sprintf("node-%d-input", n))
	}
	errCount := counter("vpp.error.count", "{error}", "Error counters.")
	for n := range 3000 {
		a := point(errCount, int64(n))
		a.PutStr("vpp.node.name", fmt.Sprintf("node-%d", n/3))
		a.PutStr("vpp.error.name", fmt.Sprintf("reason \"%d\"", n%3))
		a.PutStr("vpp.error.severity", "error")
	}
	heap := ms.AppendEmpty()
	heap.SetName("vpp.memory.heap.usage")
	heap.SetUnit("By")
	heap.SetDescription("Heap bytes by state.")
	for _, st := range []string{"used", "free"} {
		dp := heap.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(ts)
		dp.SetIntValue(1 << 20)
		dp.Attributes().PutStr("vpp.memory.heap.name", "main heap")
		dp.Attributes().PutStr("vpp.memory.state", st)
	}
	rate := ms.AppendEmpty()
	rate.SetName("vpp.input.rate")
	rate.SetUnit("{packet}/s")
	rate.SetDescription("Input rate.")
	dp := rate.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(ts)
	dp.SetDoubleValue(1234.5)
	return md
}

// edgeCases is pdata that exercises every naming and typing rule: escaping
// in label values and descriptions, attribute keys that need sanitizing,
// non-string attribute values, a double gauge, a non-monotonic sum, an
// untyped gauge, a histogram with unsorted and duplicate bounds, a summary,
// scope attributes, and a resource with job and instance (target_info).
func edgeCases(ts pcommon.Timestamp) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	res := rm.Resource().Attributes()
	res.PutStr("service.name", "vpp")
	res.PutStr("service.namespace", "dataplane")
	res.PutStr("service.instance.id", "host-1:vpp-a")
	res.PutStr("host.name", "host-1")
	res.PutInt("vpp.pid", 4242)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("edge")
	sm.Scope().SetVersion("1.2.3")
	sm.Scope().Attributes().PutStr("library.kind", "test")
	sm.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	ms := sm.Metrics()

	g := ms.AppendEmpty()
	g.SetName("edge.temperature")
	g.SetUnit("Cel")
	g.SetDescription("A gauge with a \\ backslash\nand a newline in its help.")
	dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(ts)
	dp.SetDoubleValue(-12.25)
	dp.Attributes().PutStr("weird-key.with/chars", "quote \" backslash \\ newline \n end")
	dp.Attributes().PutBool("enabled", true)
	dp.Attributes().PutDouble("ratio", 0.5)
	dp.Attributes().PutInt("count", -3)

	s := ms.AppendEmpty()
	s.SetName("edge.queue.depth")
	s.SetUnit("{item}")
	sum := s.SetEmptySum()
	sum.SetIsMonotonic(false)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for i, q := range []string{"a", "b"} {
		dp := sum.DataPoints().AppendEmpty()
		dp.SetTimestamp(ts)
		dp.SetIntValue(int64(10 + i))
		dp.Attributes().PutStr("queue", q)
	}

	u := ms.AppendEmpty()
	u.SetName("edge.legacy")
	u.Metadata().PutStr("prometheus.type", "unknown")
	dp = u.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(ts)
	dp.SetDoubleValue(1)

	c := ms.AppendEmpty()
	c.SetName("edge.requests")
	c.SetUnit("1")
	c.SetDescription("Requests.")
	csum := c.SetEmptySum()
	csum.SetIsMonotonic(true)
	csum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp = csum.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(1)
	dp.SetTimestamp(ts)
	dp.SetIntValue(1 << 60)

	h := ms.AppendEmpty()
	h.SetName("edge.latency")
	h.SetUnit("ms")
	h.SetDescription("Latency.")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	hdp := hist.DataPoints().AppendEmpty()
	hdp.SetTimestamp(ts)
	hdp.SetCount(12)
	hdp.SetSum(345.5)
	hdp.ExplicitBounds().FromRaw([]float64{10, 5, 100, 100})
	hdp.BucketCounts().FromRaw([]uint64{3, 2, 4, 1, 2})
	hdp.Attributes().PutStr("route", "/a")

	sy := ms.AppendEmpty()
	sy.SetName("edge.size")
	sy.SetUnit("By")
	sdp := sy.SetEmptySummary().DataPoints().AppendEmpty()
	sdp.SetTimestamp(ts)
	sdp.SetCount(4)
	sdp.SetSum(1000)
	for _, q := range []float64{0.99, 0.5} {
		qv := sdp.QuantileValues().AppendEmpty()
		qv.SetQuantile(q)
		qv.SetValue(q * 100)
	}
	return md
}

// freeEndpoint returns a 127.0.0.1 address with a port free at the time of
// the call, for exporters that do not report the port they bound.
func freeEndpoint(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	addr := ln.Addr().String()
	require.NoError(tb, ln.Close())
	return addr
}

func now() pcommon.Timestamp { return pcommon.NewTimestampFromTime(time.Now()) }

func timeNow() time.Time { return time.Now() }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
