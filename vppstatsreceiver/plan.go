package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

// A plan is everything the scraper resolves once per directory epoch: which
// vectors feed which metric, which columns are objects to report, and their
// names. Per scrape, the scraper only walks the plan, reads values and
// appends points.
//
// Counter state (last value and start time of every series) lives in the
// plan's sources, in slices indexed by column (and thread), and is carried
// over to the next plan by object identity when the epoch moves.

type field uint8

const (
	fieldSimple field = iota
	fieldPackets
	fieldBytes
)

type kind uint8

const (
	kindInterface kind = iota
	kindNode
	kindError
	kindStat
)

type attr struct{ key, val string }

// objects names the columns of a family of vectors (interfaces, nodes,
// errors). ident[c] is the identity used to carry state over epochs; name
// and reason are the attribute values. keep[c] says whether column c is
// reported (it exists, is not deleted, passes the filter).
type objects struct {
	ident  []string
	name   []string
	reason []string // errors only
	keep   []bool
}

// source is one counter vector (one field of it) feeding one metric.
type source struct {
	path   string
	field  field
	metric metadata.MetricID
	kind   kind
	entry  int    // directory index of the vector
	fixed  []attr // constant attributes (direction, cast, protocol)
	objs   *objects
	cols   []int32 // columns to report, ascending
	nt     int     // state rows per column: threads (per_thread) or 1

	// State, indexed by column*nt + thread. start 0 means "not started":
	// the scrape sets it.
	ident []string // identity of each column when the state was recorded
	prev  []uint64
	start []pcommon.Timestamp
}

func (s *source) key() string { return s.path + "#" + string(rune('0'+s.field)) }

type scalarRef struct {
	entry  int
	metric metadata.MetricID
	name   string // pool / heap / stat path
	state  string // enum value, if any
}

type memRef struct {
	entry int // the /mem/<heap> vector
	col   int
	heap  string
	state string // used, free, total
}

type plan struct {
	dir *statseg.Dir

	boottime, heartbeat, lastStatsClear int
	vectorRate, inputRate, numWorkers   int
	vectorRatePerWorker, loopsPerWorker int

	// threads is how many threads VPP runs (main + workers), from the rows
	// of /if/rx; 0 when unknown. VPP gives node counter vectors one row
	// more (always zero): per_thread leaves it out rather than report a
	// thread that does not exist.
	threads int

	sources []*source
	pools   []scalarRef
	mems    []memRef
	gauges  []scalarRef // catch-all scalars and gauges
}

// interface counter vectors: path → (metric, fixed attributes) per field.
type ifSpec struct {
	metric metadata.MetricID
	fixed  []attr
}

func dirAttr(d string) attr  { return attr{"network.io.direction", d} }
func castAttr(c string) attr { return attr{"vpp.interface.cast", c} }

var ifCombined = map[string][2]ifSpec{} // [packets, bytes]
var ifSimple = map[string]ifSpec{}

func init() {
	for _, d := range []struct{ short, dir string }{{"rx", "receive"}, {"tx", "transmit"}} {
		ifCombined["/if/"+d.short] = [2]ifSpec{
			{metadata.MetricVppInterfacePackets, []attr{dirAttr(d.dir)}},
			{metadata.MetricVppInterfaceIo, []attr{dirAttr(d.dir)}},
		}
		for _, c := range []string{"unicast", "multicast", "broadcast"} {
			ifCombined["/if/"+d.short+"-"+c] = [2]ifSpec{
				{metadata.MetricVppInterfaceCastPackets, []attr{dirAttr(d.dir), castAttr(c)}},
				{metadata.MetricVppInterfaceCastIo, []attr{dirAttr(d.dir), castAttr(c)}},
			}
		}
		ifSimple["/if/"+d.short+"-error"] = ifSpec{metadata.MetricVppInterfaceErrors, []attr{dirAttr(d.dir)}}
	}
	ifSimple["/if/drops"] = ifSpec{metric: metadata.MetricVppInterfaceDrops}
	ifSimple["/if/punt"] = ifSpec{metric: metadata.MetricVppInterfacePunts}
	ifSimple["/if/rx-no-buf"] = ifSpec{metric: metadata.MetricVppInterfaceRxNoBuffer}
	ifSimple["/if/rx-miss"] = ifSpec{metric: metadata.MetricVppInterfaceRxMissed}
	for _, p := range []string{"ip4", "ip6", "mpls"} {
		ifSimple["/if/"+p] = ifSpec{metadata.MetricVppInterfaceProtocolPackets, []attr{{"vpp.protocol", p}}}
	}
}

var nodeVectors = map[string]metadata.MetricID{
	"/sys/node/clocks":   metadata.MetricVppNodeClocks,
	"/sys/node/vectors":  metadata.MetricVppNodeVectors,
	"/sys/node/calls":    metadata.MetricVppNodeCalls,
	"/sys/node/suspends": metadata.MetricVppNodeSuspends,
}

const (
	pathBoottime            = "/sys/boottime"
	pathHeartbeat           = "/sys/heartbeat"
	pathLastStatsClear      = "/sys/last_stats_clear"
	pathVectorRate          = "/sys/vector_rate"
	pathInputRate           = "/sys/input_rate"
	pathNumWorkers          = "/sys/num_worker_threads"
	pathVectorRatePerWorker = "/sys/vector_rate_per_worker"
	pathLoopsPerWorker      = "/sys/loops_per_worker"
	pathIfNames             = "/if/names"
	pathNodeNames           = "/sys/node/names"
	pathNodeErrors          = "/node/errors"
)

// covered reports whether a dedicated metric reports the entry, which keeps
// it out of the catch-all.
func covered(name string) bool {
	switch name {
	case pathBoottime, pathVectorRate, pathInputRate, pathNumWorkers,
		pathVectorRatePerWorker, pathLoopsPerWorker, pathNodeErrors:
		return true
	}
	for _, p := range []string{"/if/", "/interfaces/", "/sys/node/", "/nodes/", "/err/", "/buffer-pools/", "/mem/"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func isScalar(t statseg.Type) bool { return t == statseg.TypeScalar || t == statseg.TypeGauge }

func isCounter(t statseg.Type) bool {
	return t == statseg.TypeCounterSimple || t == statseg.TypeCounterCombined
}

// want says which entries a snapshot reads. It depends on the entry and the
// configuration only (statseg asks once per epoch).
func (s *vppScraper) want(e *statseg.Entry) bool {
	if e.Type == statseg.TypeSymlink {
		return false // read through their target vectors
	}
	n := e.Name
	switch n {
	case pathBoottime, pathHeartbeat, pathLastStatsClear, pathVectorRate, pathInputRate, pathNumWorkers:
		return isScalar(e.Type)
	case pathVectorRatePerWorker, pathLoopsPerWorker:
		return e.Type == statseg.TypeCounterSimple
	case pathNodeErrors:
		return e.Type == statseg.TypeCounterSimple && s.enabled[metadata.MetricVppNodeErrors]
	}
	switch {
	case strings.HasPrefix(n, "/if/"):
		return isCounter(e.Type)
	case strings.HasPrefix(n, "/sys/node/"):
		return e.Type == statseg.TypeCounterSimple
	case strings.HasPrefix(n, "/buffer-pools/"):
		return isScalar(e.Type) && s.enabled[metadata.MetricVppBufferPoolBuffers]
	case strings.HasPrefix(n, "/mem/"):
		return e.Type == statseg.TypeCounterSimple
	}
	if covered(n) || !s.stats.keep(n) {
		return false
	}
	return isScalar(e.Type) && s.enabled[metadata.MetricVppStatGauge] ||
		isCounter(e.Type) && s.enabled[metadata.MetricVppStatCounter]
}

// buildPlan resolves the directory d, carrying counter state over from old.
func (s *vppScraper) buildPlan(d *statseg.Dir, old *plan) *plan {
	p := &plan{
		dir: d, boottime: -1, heartbeat: -1, lastStatsClear: -1, vectorRate: -1, inputRate: -1,
		numWorkers: -1, vectorRatePerWorker: -1, loopsPerWorker: -1,
	}
	scalar := func(dst *int, e *statseg.Entry) {
		if isScalar(e.Type) && e.Err == nil {
			*dst = e.Index
		}
	}
	if e, ok := d.Lookup("/if/rx"); ok && e.Err == nil {
		p.threads = e.Threads()
	}
	var ifObjs, nodeObjs, errObjs *objects
	if e, ok := d.Lookup(pathIfNames); ok && e.Type == statseg.TypeNameVector {
		ifObjs = nameObjects(e, s.interfaces)
	}
	if e, ok := d.Lookup(pathNodeNames); ok && e.Type == statseg.TypeNameVector {
		nodeObjs = nameObjects(e, s.nodes)
	}
	errIdx := -1
	if e, ok := d.Lookup(pathNodeErrors); ok && e.Type == statseg.TypeCounterSimple && e.Err == nil {
		errIdx = e.Index
		errObjs = s.errorObjects(d, errIdx)
	}

	for i := range d.Entries {
		e := &d.Entries[i]
		if e.Err != nil || e.Type == statseg.TypeEmpty || e.Type == statseg.TypeSymlink {
			continue
		}
		n := e.Name
		switch n {
		case pathBoottime:
			scalar(&p.boottime, e)
			continue
		case pathHeartbeat:
			scalar(&p.heartbeat, e)
		case pathLastStatsClear:
			scalar(&p.lastStatsClear, e)
		case pathVectorRate:
			scalar(&p.vectorRate, e)
			continue
		case pathInputRate:
			scalar(&p.inputRate, e)
			continue
		case pathNumWorkers:
			scalar(&p.numWorkers, e)
			continue
		case pathVectorRatePerWorker:
			if e.Type == statseg.TypeCounterSimple {
				p.vectorRatePerWorker = i
			}
			continue
		case pathLoopsPerWorker:
			if e.Type == statseg.TypeCounterSimple {
				p.loopsPerWorker = i
			}
			continue
		case pathNodeErrors:
			if errObjs != nil {
				p.addSource(s, e, fieldSimple, metadata.MetricVppNodeErrors, kindError, nil, errObjs)
			}
			continue
		}
		switch {
		case strings.HasPrefix(n, "/if/"):
			if ifObjs == nil {
				continue
			}
			if spec, ok := ifCombined[n]; ok && e.Type == statseg.TypeCounterCombined {
				p.addSource(s, e, fieldPackets, spec[0].metric, kindInterface, spec[0].fixed, ifObjs)
				p.addSource(s, e, fieldBytes, spec[1].metric, kindInterface, spec[1].fixed, ifObjs)
			} else if spec, ok := ifSimple[n]; ok && e.Type == statseg.TypeCounterSimple {
				p.addSource(s, e, fieldSimple, spec.metric, kindInterface, spec.fixed, ifObjs)
			}
			continue
		case strings.HasPrefix(n, "/sys/node/"):
			if m, ok := nodeVectors[n]; ok && nodeObjs != nil && e.Type == statseg.TypeCounterSimple {
				p.addSource(s, e, fieldSimple, m, kindNode, nil, nodeObjs)
			}
			continue
		case strings.HasPrefix(n, "/buffer-pools/"):
			rest := n[len("/buffer-pools/"):]
			if j := strings.LastIndexByte(rest, '/'); j > 0 && isScalar(e.Type) {
				switch st := rest[j+1:]; st {
				case "cached", "used", "available":
					p.pools = append(p.pools, scalarRef{entry: i, metric: metadata.MetricVppBufferPoolBuffers, name: rest[:j], state: st})
				}
			}
			continue
		case strings.HasPrefix(n, "/mem/"):
			continue // through the symlinks below
		}
		if covered(n) || !s.stats.keep(n) {
			continue
		}
		switch {
		case isScalar(e.Type) && s.enabled[metadata.MetricVppStatGauge]:
			p.gauges = append(p.gauges, scalarRef{entry: i, metric: metadata.MetricVppStatGauge, name: n})
		case e.Type == statseg.TypeCounterSimple && s.enabled[metadata.MetricVppStatCounter]:
			p.addSource(s, e, fieldSimple, metadata.MetricVppStatCounter, kindStat, nil, nil)
		case e.Type == statseg.TypeCounterCombined && s.enabled[metadata.MetricVppStatCounter]:
			p.addSource(s, e, fieldPackets, metadata.MetricVppStatCounter, kindStat, []attr{{"vpp.stat.field", "packets"}}, nil)
			p.addSource(s, e, fieldBytes, metadata.MetricVppStatCounter, kindStat, []attr{{"vpp.stat.field", "bytes"}}, nil)
		}
	}
	// Memory heaps: /mem/<heap>/{used,total,free} are symlinks into the
	// /mem/<heap> vector.
	for i := range d.Entries {
		e := &d.Entries[i]
		if e.Type != statseg.TypeSymlink || !strings.HasPrefix(e.Name, "/mem/") || e.Target < 0 || e.Target >= len(d.Entries) {
			continue
		}
		t := &d.Entries[e.Target]
		if t.Type != statseg.TypeCounterSimple || t.Err != nil || !strings.HasPrefix(t.Name, "/mem/") {
			continue
		}
		heap := t.Name[len("/mem/"):]
		st, ok := strings.CutPrefix(e.Name, t.Name+"/")
		if !ok {
			continue
		}
		switch st {
		case "used", "free", "total":
			p.mems = append(p.mems, memRef{entry: e.Target, col: e.Column, heap: heap, state: st})
		}
	}
	p.carry(old)
	return p
}

// nameObjects names the columns of a name vector (/if/names, /sys/node/names).
// NULL, empty and "deleted" slots are not objects.
func nameObjects(e *statseg.Entry, f filter) *objects {
	o := &objects{ident: e.Names, name: e.Names, keep: make([]bool, len(e.Names))}
	for c, n := range e.Names {
		null := e.NullNames != nil && e.NullNames[c]
		o.keep[c] = !null && n != "" && n != "deleted" && f.keep(n)
	}
	return o
}

// errorObjects names the columns of /node/errors from the /err/<node>/<reason>
// symlinks pointing into it.
func (s *vppScraper) errorObjects(d *statseg.Dir, errIdx int) *objects {
	o := &objects{}
	for i := range d.Entries {
		e := &d.Entries[i]
		if e.Type != statseg.TypeSymlink || e.Target != errIdx || e.Column < 0 {
			continue
		}
		rest, ok := strings.CutPrefix(e.Name, "/err/")
		if !ok {
			continue
		}
		node, reason, ok := strings.Cut(rest, "/")
		if !ok || node == "" || reason == "" {
			continue
		}
		if e.Column >= len(o.ident) {
			n := e.Column + 1
			o.ident = append(o.ident, make([]string, n-len(o.ident))...)
			o.name = append(o.name, make([]string, n-len(o.name))...)
			o.reason = append(o.reason, make([]string, n-len(o.reason))...)
			o.keep = append(o.keep, make([]bool, n-len(o.keep))...)
		}
		o.ident[e.Column], o.name[e.Column], o.reason[e.Column] = rest, node, reason
		o.keep[e.Column] = s.errors.keep(rest)
	}
	return o
}

// width is the number of columns of a counter vector's value.
func width(v *statseg.Value) int {
	n := 0
	for _, r := range v.Simple {
		n = max(n, len(r))
	}
	for _, r := range v.Combined {
		n = max(n, len(r))
	}
	return n
}

func (p *plan) addSource(s *vppScraper, e *statseg.Entry, f field, m metadata.MetricID, k kind, fixed []attr, objs *objects) {
	if !s.enabled[m] {
		return
	}
	src := &source{path: e.Name, field: f, metric: m, kind: k, entry: e.Index, fixed: fixed, objs: objs, nt: 1}
	if s.cfg.PerThread {
		src.nt = max(e.Threads(), 1)
		if p.threads > 0 {
			src.nt = min(src.nt, p.threads)
		}
	}
	// Columns: the width of the vector (every thread row has the same
	// width; take the widest to be safe).
	ncols := width(&s.snap.Values[e.Index])
	if objs != nil {
		ncols = min(ncols, len(objs.ident))
		src.ident = objs.ident[:ncols]
		for c := range ncols {
			if objs.keep[c] {
				src.cols = append(src.cols, int32(c))
			}
		}
	} else {
		src.ident = make([]string, ncols)
		for c := range ncols {
			src.ident[c] = e.Name
			src.cols = append(src.cols, int32(c))
		}
	}
	src.prev = make([]uint64, ncols*src.nt)
	src.start = make([]pcommon.Timestamp, ncols*src.nt)
	p.sources = append(p.sources, src)
}

// carry copies counter state from the previous plan for every column whose
// object is the same (same identity at the same index, same thread rows).
// A column whose object changed (new interface, reused index) starts anew.
func (p *plan) carry(old *plan) {
	if old == nil {
		return
	}
	byKey := make(map[string]*source, len(old.sources))
	for _, o := range old.sources {
		byKey[o.key()] = o
	}
	for _, n := range p.sources {
		o := byKey[n.key()]
		if o == nil || o.nt != n.nt {
			continue
		}
		for c := range min(len(n.ident), len(o.ident)) {
			if n.ident[c] != o.ident[c] {
				continue
			}
			copy(n.prev[c*n.nt:(c+1)*n.nt], o.prev[c*o.nt:(c+1)*o.nt])
			copy(n.start[c*n.nt:(c+1)*n.nt], o.start[c*o.nt:(c+1)*o.nt])
		}
	}
}

// reset forgets all counter state (VPP restarted).
func (p *plan) reset() {
	for _, s := range p.sources {
		clear(s.prev)
		clear(s.start)
	}
}
