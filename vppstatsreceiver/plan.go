package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"slices"
	"strings"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

// A plan is everything resolved once per directory epoch: which vectors
// feed which metric, which columns are objects to report, and their names.
// It is a pure function of the directory (names, types and shapes: no
// value is read to make it) and the configuration, built by buildPlan.
// Per scrape, the scraper only walks the plan, reads values and appends
// points. Counter state (counterState) hangs off the plan's sources and is
// carried over to the next plan by object identity.

// planConfig is what of the configuration a plan depends on.
type planConfig struct {
	enabled                          [metadata.NumMetrics]bool
	perThread                        bool
	interfaces, nodes, errors, stats filter
	// idleNodes: report nodes whose calls are 0 (nodes.include_idle).
	idleNodes bool
}

// needsNodeCalls says whether /sys/node/calls is read to leave idle nodes
// out, whether or not vpp.node.calls itself is enabled.
func (c *planConfig) needsNodeCalls() bool {
	return !c.idleNodes && c.familyEnabled(famNode)
}

type field uint8

const (
	fieldSimple field = iota
	fieldPackets
	fieldBytes
)

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
	family family
	entry  int    // directory index of the vector
	fixed  []attr // constant attributes (direction, cast, protocol, stat field)
	objs   *objects
	cols   []int32 // columns to report, ascending
	state  *counterState
}

func (s *source) key() string { return s.path + "#" + string(rune('0'+s.field)) }

// scalarRef is a scalar entry feeding a gauge with constant attributes.
type scalarRef struct {
	entry  int
	metric metadata.MetricID
	attrs  []attr
}

// vectorRef is a vector entry whose row 0 feeds a per-thread gauge.
type vectorRef struct {
	entry  int
	metric metadata.MetricID
}

// memRef is one /mem/<heap>/<state> link into the /mem/<heap> vector.
type memRef struct {
	entry int // the /mem/<heap> vector
	col   int
	heap  string
	state string // used, free, total
}

type plan struct {
	dir *statseg.Dir

	// Entries the receiver reads for itself (-1: absent or not needed).
	// nodeCalls tells idle nodes apart (planConfig.needsNodeCalls).
	boottime, lastStatsClear, nodeCalls int

	// threads is how many threads VPP runs (main + workers), from the rows
	// of /if/rx; 0 when unknown. VPP gives node counter vectors one row
	// more (always zero): per_thread leaves it out rather than report a
	// thread that does not exist.
	threads int

	sources   []*source   // counter vectors → cumulative sums
	scalars   []scalarRef // scalars → gauges (system, buffer pools, catch-all)
	perThread []vectorRef // vectors whose columns are threads → gauges
	mems      []memRef
}

// want says whether a snapshot copies the values of entry e. It depends on
// the entry and the configuration only (statseg asks once per epoch), and
// reads the same table as buildPlan: what no enabled metric needs is not
// copied.
func (c *planConfig) want(e *statseg.Entry) bool {
	// An unreadable entry that is wanted is listed in the snapshot's errors.
	m := meaningOf(e.Name)
	if m == nil {
		_, ok := c.catchAll(e)
		return ok
	}
	if !m.fits(e) {
		return false
	}
	switch m.use {
	case useBoot, useClear:
		return true
	case useNames:
		// Names come from the directory; an unreadable one is an error
		// worth reporting when the family is reported.
		return e.Err != nil && c.familyEnabled(m.cols)
	case useView:
		return false
	case useHeap:
		return e.Type == statseg.TypeCounterSimple && c.anyEnabled(m.fields)
	}
	if m.path == pathNodeCalls && c.needsNodeCalls() {
		return true
	}
	return c.anyEnabled(m.fields)
}

// familyEnabled says whether a metric whose columns are family f is on.
func (c *planConfig) familyEnabled(f family) bool {
	on := false
	c.eachFamilyMetric(f, func(metadata.MetricID) { on = true })
	return on
}

// eachFamilyMetric calls fn for each enabled metric whose columns are
// family f.
func (c *planConfig) eachFamilyMetric(f family, fn func(metadata.MetricID)) {
	for i := range meanings {
		if m := &meanings[i]; m.cols == f && m.use == useMetric {
			for _, fd := range m.fields {
				if c.enabled[fd.metric] {
					fn(fd.metric)
				}
			}
		}
	}
}

func (c *planConfig) anyEnabled(fs []feed) bool {
	return slices.ContainsFunc(fs, func(f feed) bool { return c.enabled[f.metric] })
}

// catchAll returns the catch-all metric that reports entry e (not covered
// by a row, selected by `stats`), and whether there is one.
func (c *planConfig) catchAll(e *statseg.Entry) (metadata.MetricID, bool) {
	if covered(e.Name) || !c.stats.keep(e.Name) {
		return 0, false
	}
	id := metadata.MetricVppStatCounter
	if isScalar(e.Type) {
		id = metadata.MetricVppStatGauge
	} else if !isCounter(e.Type) {
		return 0, false
	}
	return id, c.enabled[id]
}

var statFields = []feed{
	{metadata.MetricVppStatCounter, []attr{{"vpp.stat.field", "packets"}}},
	{metadata.MetricVppStatCounter, []attr{{"vpp.stat.field", "bytes"}}},
}

// buildPlan resolves directory d for configuration c. It reads no value:
// shapes come from the directory (Entry.Columns, Entry.Threads).
func buildPlan(d *statseg.Dir, c *planConfig) *plan {
	p := &plan{dir: d, boottime: -1, lastStatsClear: -1, nodeCalls: -1}
	if e, ok := d.Lookup("/if/rx"); ok && e.Err == nil {
		p.threads = e.Threads()
	}
	if e, ok := d.Lookup(pathNodeCalls); ok && e.Err == nil && e.Type == statseg.TypeCounterSimple && c.needsNodeCalls() {
		p.nodeCalls = e.Index
	}
	fams := map[family]*objects{}
	if e, ok := d.Lookup("/if/names"); ok && e.Err == nil && e.Type == statseg.TypeNameVector {
		fams[famInterface] = nameObjects(e, c.interfaces)
	}
	if e, ok := d.Lookup("/sys/node/names"); ok && e.Err == nil && e.Type == statseg.TypeNameVector {
		fams[famNode] = nameObjects(e, c.nodes)
	}
	if e, ok := d.Lookup(pathNodeErrors); ok && e.Err == nil && e.Type == statseg.TypeCounterSimple {
		fams[famError] = errorObjects(d, e, c.errors)
	}

	for i := range d.Entries {
		e := &d.Entries[i]
		if e.Err != nil || e.Type == statseg.TypeEmpty {
			continue
		}
		m := meaningOf(e.Name)
		if m == nil {
			p.addCatchAll(e, c)
			continue
		}
		if !m.fits(e) {
			continue
		}
		switch m.use {
		case useBoot:
			p.boottime = i
		case useClear:
			p.lastStatsClear = i
		case useBufferPool:
			p.addBufferPool(e, m, c)
		case useHeap:
			p.addHeap(d, e, c)
		case useMetric:
			p.addMetric(e, m, c, fams)
		}
		if !m.covers() {
			p.addCatchAll(e, c)
		}
	}
	return p
}

func (p *plan) addMetric(e *statseg.Entry, m *meaning, c *planConfig, fams map[family]*objects) {
	switch m.shape {
	case shapeScalar:
		if f := m.fields[0]; c.enabled[f.metric] {
			p.scalars = append(p.scalars, scalarRef{entry: e.Index, metric: f.metric, attrs: f.fixed})
		}
	case shapeSimple, shapeCombined:
		if m.cols == famThread {
			if c.enabled[m.fields[0].metric] {
				p.perThread = append(p.perThread, vectorRef{entry: e.Index, metric: m.fields[0].metric})
			}
			return
		}
		objs := fams[m.cols]
		if objs == nil {
			return // no names for the columns: nothing to report them as
		}
		if m.shape == shapeSimple {
			p.addSource(e, fieldSimple, m.fields[0], m.cols, objs, c)
			return
		}
		p.addSource(e, fieldPackets, m.fields[0], m.cols, objs, c)
		p.addSource(e, fieldBytes, m.fields[1], m.cols, objs, c)
	}
}

func (p *plan) addCatchAll(e *statseg.Entry, c *planConfig) {
	id, ok := c.catchAll(e)
	switch {
	case !ok:
	case isScalar(e.Type):
		p.scalars = append(p.scalars, scalarRef{entry: e.Index, metric: id, attrs: []attr{{"vpp.stat.name", e.Name}}})
	case e.Type == statseg.TypeCounterSimple:
		p.addSource(e, fieldSimple, feed{metric: id}, famStat, nil, c)
	case e.Type == statseg.TypeCounterCombined:
		p.addSource(e, fieldPackets, statFields[0], famStat, nil, c)
		p.addSource(e, fieldBytes, statFields[1], famStat, nil, c)
	}
}

// addBufferPool adds /buffer-pools/<pool>/<state>.
func (p *plan) addBufferPool(e *statseg.Entry, m *meaning, c *planConfig) {
	f := m.fields[0]
	rest := e.Name[len(m.path):]
	j := strings.LastIndexByte(rest, '/')
	if !c.enabled[f.metric] || j <= 0 {
		return
	}
	if _, known := metadata.MapAttributeVppBufferPoolState[rest[j+1:]]; !known {
		return
	}
	p.scalars = append(p.scalars, scalarRef{entry: e.Index, metric: f.metric, attrs: []attr{
		{"vpp.buffer_pool.name", rest[:j]}, {"vpp.buffer_pool.state", rest[j+1:]},
	}})
}

// addHeap adds a /mem/<heap>/<state> link into its /mem/<heap> vector.
func (p *plan) addHeap(d *statseg.Dir, e *statseg.Entry, c *planConfig) {
	if e.Type != statseg.TypeSymlink || !c.enabled[metadata.MetricVppMemoryHeapSize] && !c.enabled[metadata.MetricVppMemoryHeapUsage] {
		return
	}
	t := &d.Entries[e.Target] // resolved: e.Err is nil
	if t.Type != statseg.TypeCounterSimple || t.Err != nil || !strings.HasPrefix(t.Name, "/mem/") {
		return
	}
	st, ok := strings.CutPrefix(e.Name, t.Name+"/")
	if _, known := metadata.MapAttributeVppMemoryHeapState[st]; ok && (known || st == heapTotal) {
		p.mems = append(p.mems, memRef{entry: e.Target, col: e.Column, heap: t.Name[len("/mem/"):], state: st})
	}
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
// symlinks pointing into it. Links statseg could not resolve (Err: a column
// past the vector's end, ...) name nothing, so the objects are never wider
// than the vector itself.
func errorObjects(d *statseg.Dir, vec *statseg.Entry, f filter) *objects {
	n := vec.Columns()
	o := &objects{ident: make([]string, n), name: make([]string, n), reason: make([]string, n), keep: make([]bool, n)}
	for i := range d.Entries {
		e := &d.Entries[i]
		if e.Type != statseg.TypeSymlink || e.Err != nil || e.Target != vec.Index || e.Column < 0 || e.Column >= n {
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
		o.ident[e.Column], o.name[e.Column], o.reason[e.Column] = rest, node, reason
		o.keep[e.Column] = f.keep(rest)
	}
	return o
}

func (p *plan) addSource(e *statseg.Entry, f field, fd feed, fam family, objs *objects, c *planConfig) {
	if !c.enabled[fd.metric] {
		return
	}
	src := &source{path: e.Name, field: f, metric: fd.metric, family: fam, entry: e.Index, fixed: fd.fixed, objs: objs}
	nt := 1
	if c.perThread {
		nt = max(e.Threads(), 1)
		if p.threads > 0 {
			nt = min(nt, p.threads)
		}
	}
	ncols := e.Columns()
	var ident []string
	if objs != nil {
		ncols = min(ncols, len(objs.ident))
		ident = objs.ident[:ncols]
		for col := range ncols {
			if objs.keep[col] {
				src.cols = append(src.cols, int32(col))
			}
		}
	} else {
		ident = make([]string, ncols)
		for col := range ncols {
			ident[col] = e.Name
			src.cols = append(src.cols, int32(col))
		}
	}
	src.state = newCounterState(ident, nt)
	p.sources = append(p.sources, src)
}

// carry takes over counter state from the previous plan for every column
// whose object is the same (see counterState.carry).
func (p *plan) carry(old *plan) {
	if old == nil {
		return
	}
	byKey := make(map[string]*source, len(old.sources))
	for _, o := range old.sources {
		byKey[o.key()] = o
	}
	for _, n := range p.sources {
		if o := byKey[n.key()]; o != nil {
			n.state.carry(o.state)
		}
	}
}

// reset forgets all counter state (VPP restarted).
func (p *plan) reset() {
	for _, s := range p.sources {
		s.state.reset()
	}
}
