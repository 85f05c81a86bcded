package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

// emitter appends the points of one scrape.
type emitter struct {
	s          *vppScraper
	ts         pcommon.Timestamp
	perThread  bool
	newStart   pcommon.Timestamp // start of a series seen for the first time
	resetStart pcommon.Timestamp // start of a series whose value went backwards
	// calls is /sys/node/calls when idle nodes are left out, else nil.
	calls *statseg.Value
}

// idleNode says whether node c has not run (on thread t with per_thread,
// on any thread otherwise) since VPP started or its counters were cleared.
func (e *emitter) idleNode(c, t int) bool {
	calls, _ := e.value(e.calls, fieldSimple, c, t)
	return calls == 0
}

// value is the value of series (c, t) of v's field f: thread t's cell with
// per_thread (false when thread t has no such cell), else the sum over all
// rows, saturating.
func (e *emitter) value(v *statseg.Value, f field, c, t int) (uint64, bool) {
	if e.perThread {
		return cell(v, f, t, c)
	}
	var sum uint64
	for r := range rows(v, f) {
		x, _ := cell(v, f, r, c)
		sum = addSat(sum, x)
	}
	return sum, true
}

func cell(v *statseg.Value, f field, t, c int) (uint64, bool) {
	switch f {
	case fieldSimple:
		if t < len(v.Simple) && c < len(v.Simple[t]) {
			return v.Simple[t][c], true
		}
	case fieldPackets:
		if t < len(v.Combined) && c < len(v.Combined[t]) {
			return v.Combined[t][c].Packets, true
		}
	case fieldBytes:
		if t < len(v.Combined) && c < len(v.Combined[t]) {
			return v.Combined[t][c].Bytes, true
		}
	}
	return 0, false
}

func rows(v *statseg.Value, f field) int {
	if f == fieldSimple {
		return len(v.Simple)
	}
	return len(v.Combined)
}

func (e *emitter) counters(src *source, v *statseg.Value, clearTs pcommon.Timestamp) {
	pts, ok := e.s.mb.Points(src.metric)
	if !ok {
		return
	}
	st := starts{first: e.newStart, reset: e.resetStart}
	if src.family == famNode {
		st.clear = clearTs // `clear runtime` records when node counters restarted
	}
	skipZero := src.family == famError && !e.s.cfg.Errors.IncludeZero
	skipIdle := src.family == famNode && e.calls != nil
	nattrs := 1 + len(src.fixed)
	switch src.family {
	case famInterface, famError, famStat:
		nattrs++
	}
	if e.perThread {
		nattrs++
	}
	state := src.state
	for _, c32 := range src.cols {
		c := int(c32)
		for t := range state.nt {
			val, ok := e.value(v, src.field, c, t)
			if !ok {
				continue
			}
			start := state.observe(c*state.nt+t, val, st)
			if skipZero && val == 0 || skipIdle && e.idleNode(c, t) {
				continue
			}
			dp := pts.AppendEmpty()
			dp.SetStartTimestamp(start)
			dp.SetTimestamp(e.ts)
			dp.SetIntValue(saturate(val))
			a := dp.Attributes()
			a.EnsureCapacity(nattrs)
			switch src.family {
			case famInterface:
				a.PutStr("network.interface.name", src.objs.name[c])
				a.PutInt(interfaceIndexKey, int64(c))
			case famNode:
				a.PutStr("vpp.node.name", src.objs.name[c])
			case famError:
				a.PutStr("vpp.node.name", src.objs.name[c])
				a.PutStr("vpp.error.reason", src.objs.reason[c])
			case famStat:
				a.PutStr("vpp.stat.name", src.path)
				a.PutInt("vpp.stat.index", int64(c))
			}
			for _, f := range src.fixed {
				a.PutStr(f.key, f.val)
			}
			if e.perThread {
				a.PutInt("vpp.thread.index", int64(t))
			}
		}
	}
}

func (e *emitter) gauge(id metadata.MetricID) (pmetric.NumberDataPoint, bool) {
	pts, ok := e.s.mb.Points(id)
	if !ok {
		return pmetric.NumberDataPoint{}, false
	}
	dp := pts.AppendEmpty()
	dp.SetTimestamp(e.ts)
	return dp, true
}

func (e *emitter) system(p *plan, vals []statseg.Value, now time.Time, boot uint64) {
	for _, r := range p.scalars {
		dp, ok := e.gauge(r.metric)
		if !ok {
			continue
		}
		x := vals[r.entry].Scalar
		if doubleGauges[r.metric] {
			dp.SetDoubleValue(float64(x))
		} else {
			dp.SetIntValue(saturate(x))
		}
		a := dp.Attributes()
		a.EnsureCapacity(len(r.attrs))
		for _, kv := range r.attrs {
			a.PutStr(kv.key, kv.val)
		}
	}
	for _, r := range p.perThread {
		v := &vals[r.entry]
		if len(v.Simple) == 0 {
			continue
		}
		for t, x := range v.Simple[0] {
			if dp, ok := e.gauge(r.metric); ok {
				dp.SetDoubleValue(float64(x))
				dp.Attributes().PutInt("vpp.thread.index", int64(t))
			}
		}
	}
	if boot > 0 {
		if dp, ok := e.gauge(metadata.MetricVppUptime); ok {
			dp.SetDoubleValue(now.Sub(time.Unix(int64(boot), 0)).Seconds())
		}
	}
	for _, m := range p.mems {
		v := &vals[m.entry]
		if len(v.Simple) == 0 || m.col >= len(v.Simple[0]) {
			continue
		}
		x := saturate(v.Simple[0][m.col])
		if m.state == heapTotal {
			if dp, ok := e.gauge(metadata.MetricVppMemoryHeapSize); ok {
				dp.SetIntValue(x)
				dp.Attributes().PutStr("vpp.memory.heap.name", m.heap)
			}
			continue
		}
		if dp, ok := e.gauge(metadata.MetricVppMemoryHeapUsage); ok {
			dp.SetIntValue(x)
			a := dp.Attributes()
			a.EnsureCapacity(2)
			a.PutStr("vpp.memory.heap.name", m.heap)
			a.PutStr("vpp.memory.heap.state", m.state)
		}
	}
}

// doubleGauges are the scalar-fed gauges whose value type in metadata.yaml
// is double (the others are int).
var doubleGauges = map[metadata.MetricID]bool{
	metadata.MetricVppVectorRate: true,
	metadata.MetricVppInputRate:  true,
	metadata.MetricVppStatGauge:  true,
}
