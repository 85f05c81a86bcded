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
	newStart, resetStart := e.newStart, e.resetStart
	if src.kind == kindNode && clearTs > 0 {
		// `clear runtime` records when node counters restarted.
		newStart, resetStart = max(newStart, clearTs), max(resetStart, clearTs)
	}
	skipZero := src.kind == kindError && !e.s.cfg.Errors.IncludeZero
	nrows := rows(v, src.field)
	nattrs := 1 + len(src.fixed)
	switch src.kind {
	case kindInterface, kindError, kindStat:
		nattrs++
	}
	if e.perThread {
		nattrs++
	}
	for _, c32 := range src.cols {
		c := int(c32)
		for t := range src.nt {
			var val uint64
			if e.perThread {
				x, ok := cell(v, src.field, t, c)
				if !ok {
					continue
				}
				val = x
			} else {
				for r := range nrows {
					x, _ := cell(v, src.field, r, c)
					val += x
				}
			}
			k := c*src.nt + t
			st := src.start[k]
			switch {
			case val < src.prev[k]:
				st = resetStart
				src.start[k] = st
			case st == 0:
				st = newStart
				src.start[k] = st
			}
			src.prev[k] = val
			if skipZero && val == 0 {
				continue
			}
			dp := pts.AppendEmpty()
			dp.SetStartTimestamp(st)
			dp.SetTimestamp(e.ts)
			dp.SetIntValue(int64(val))
			a := dp.Attributes()
			a.EnsureCapacity(nattrs)
			switch src.kind {
			case kindInterface:
				a.PutStr("vpp.interface.name", src.objs.name[c])
				a.PutInt("vpp.interface.index", int64(c))
			case kindNode:
				a.PutStr("vpp.node.name", src.objs.name[c])
			case kindError:
				a.PutStr("vpp.node.name", src.objs.name[c])
				a.PutStr("vpp.error.reason", src.objs.reason[c])
			case kindStat:
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
	if p.vectorRate >= 0 {
		if dp, ok := e.gauge(metadata.MetricVppVectorRate); ok {
			dp.SetDoubleValue(statseg.AsFloat(vals[p.vectorRate].Scalar))
		}
	}
	if p.inputRate >= 0 {
		if dp, ok := e.gauge(metadata.MetricVppInputRate); ok {
			dp.SetDoubleValue(statseg.AsFloat(vals[p.inputRate].Scalar))
		}
	}
	if p.numWorkers >= 0 {
		if dp, ok := e.gauge(metadata.MetricVppWorkerCount); ok {
			dp.SetIntValue(int64(vals[p.numWorkers].Scalar))
		}
	}
	perWorker := func(idx int, id metadata.MetricID) {
		if idx < 0 || len(vals[idx].Simple) == 0 {
			return
		}
		for t, x := range vals[idx].Simple[0] {
			if dp, ok := e.gauge(id); ok {
				dp.SetDoubleValue(float64(x))
				dp.Attributes().PutInt("vpp.thread.index", int64(t))
			}
		}
	}
	perWorker(p.vectorRatePerWorker, metadata.MetricVppWorkerVectorRate)
	perWorker(p.loopsPerWorker, metadata.MetricVppWorkerLoopRate)
	if boot > 0 {
		if dp, ok := e.gauge(metadata.MetricVppUptime); ok {
			dp.SetDoubleValue(now.Sub(time.Unix(int64(boot), 0)).Seconds())
		}
	}
	for _, r := range p.pools {
		if dp, ok := e.gauge(r.metric); ok {
			dp.SetIntValue(int64(vals[r.entry].Scalar))
			a := dp.Attributes()
			a.EnsureCapacity(2)
			a.PutStr("vpp.buffer_pool.name", r.name)
			a.PutStr("vpp.buffer_pool.state", r.state)
		}
	}
	for _, m := range p.mems {
		v := &vals[m.entry]
		if len(v.Simple) == 0 || m.col >= len(v.Simple[0]) {
			continue
		}
		x := int64(v.Simple[0][m.col])
		if m.state == "total" {
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
	for _, g := range p.gauges {
		if dp, ok := e.gauge(g.metric); ok {
			dp.SetDoubleValue(statseg.AsFloat(vals[g.entry].Scalar))
			dp.Attributes().PutStr("vpp.stat.name", g.name)
		}
	}
}
