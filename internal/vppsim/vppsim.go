// Package vppsim simulates the stats segment of a running VPP (v26.06): the
// entries it publishes, with realistic names, thread rows and symlinks,
// counters that grow consistently under traffic, VPP's collector cadence,
// and interfaces that come and go.
//
// It is built on segwriter.Writer; serve Writer().Fd() with segwriter.Server to
// give clients a VPP to talk to.
package vppsim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/statseg"
)

// Options describe the simulated VPP. Zero values take the defaults noted.
type Options struct {
	Interfaces int     // interfaces besides local0 (default 4)
	Threads    int     // worker threads; thread 0 is main, so vectors have Threads+1 rows (default 1)
	Nodes      int     // graph nodes in /sys/node/* (default 64)
	Errors     int     // error counters in /node/errors (default 128)
	Rate       float64 // packets per second received by each interface (default 1000)
	// Churn is the period at which an interface is deleted or created
	// (alternately keeping about Interfaces of them); 0 disables it.
	Churn time.Duration
	// UpdateInterval is VPP's `statseg { update-interval }`: how often the
	// collector refreshes /sys/*, node counters, memory and buffer pools
	// (default 10s).
	UpdateInterval time.Duration
	// SegmentSize is the stats segment size (default 16 MiB).
	SegmentSize int
	// Seed makes the traffic mix reproducible (0: a fixed default).
	Seed uint64
}

func (o *Options) defaults() error {
	if o.Interfaces == 0 {
		o.Interfaces = 4
	}
	if o.Threads == 0 {
		o.Threads = 1
	}
	if o.Nodes == 0 {
		o.Nodes = 64
	}
	if o.Errors == 0 {
		o.Errors = 128
	}
	if o.Rate == 0 {
		o.Rate = 1000
	}
	if o.UpdateInterval == 0 {
		o.UpdateInterval = 10 * time.Second
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = segwriter.DefaultWriterSize
	}
	switch {
	case o.Interfaces < 0 || o.Interfaces > 100_000:
		return fmt.Errorf("vppsim: %d interfaces out of range", o.Interfaces)
	case o.Threads < 0 || o.Threads > 256:
		return fmt.Errorf("vppsim: %d worker threads out of range", o.Threads)
	case o.Nodes < 1 || o.Nodes > 100_000:
		return fmt.Errorf("vppsim: %d nodes out of range", o.Nodes)
	case o.Errors < 1 || o.Errors > 1_000_000:
		return fmt.Errorf("vppsim: %d error counters out of range", o.Errors)
	case o.Rate < 0:
		return fmt.Errorf("vppsim: negative rate %v", o.Rate)
	case o.Churn < 0 || o.UpdateInterval < 0:
		return errors.New("vppsim: negative period")
	}
	return nil
}

// Interface counters, in the order VPP registers them.
var (
	ifSimpleNames    = []string{"drops", "punt", "ip4", "ip6", "rx-no-buf", "rx-miss", "rx-error", "tx-error", "mpls"}
	ifCombinedNames  = []string{"rx", "rx-unicast", "rx-multicast", "rx-broadcast", "tx", "tx-unicast", "tx-multicast", "tx-broadcast"}
	nodeCounterNames = []string{"clocks", "vectors", "calls", "suspends"}
)

const (
	ifDrops = iota
	ifPunt
	ifIP4
	ifIP6
	ifRxNoBuf
	ifRxMiss
	ifRxError
	ifTxError
	ifMPLS
)

const (
	ifRx = iota
	ifRxUnicast
	ifRxMulticast
	ifRxBroadcast
	ifTx
	ifTxUnicast
	ifTxMulticast
	ifTxBroadcast
)

// Sim is a simulated VPP publishing into a stats segment.
type Sim struct {
	opts Options
	w    *segwriter.Writer

	// mu serializes the simulation's own state: traffic, collector, churn
	// and Clear may be driven from different goroutines.
	mu    sync.Mutex
	rng   *rand.Rand
	start time.Time

	heartbeat, boottime, lastUpdate, lastClear segwriter.Scalar
	vectorRate, inputRate, numWorkers          segwriter.Scalar
	bufCached, bufUsed, bufAvail               segwriter.Scalar
	vectorRatePerWorker, loopsPerWorker        segwriter.SimpleCounter
	memStat, memMain                           segwriter.SimpleCounter

	errCounters segwriter.SimpleCounter
	nodeNames   segwriter.NameVector
	node        [4]segwriter.SimpleCounter // clocks, vectors, calls, suspends

	ifNames    segwriter.NameVector
	ifSimple   [9]segwriter.SimpleCounter
	ifCombined [8]segwriter.CombinedCounter
	ifaces     []*iface       // by sw_if_index; nil once deleted
	ifIndex    map[string]int // sw_if_index by name, live interfaces only
	freeIfs    []int          // deleted sw_if_indexes, reused last-freed first
	nextName   int

	pending  float64 // packets received since the last collector run
	nodePkts []uint64
}

type iface struct {
	name    string
	size    uint64 // bytes per packet
	frac    float64
	links   []*segwriter.Handle
	traffic bool
}

// New builds the simulated segment with its initial directory and one
// collector pass, as VPP has published by the time a client can connect.
func New(opts Options) (*Sim, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	w, err := segwriter.NewWriter(segwriter.WriterOptions{Size: opts.SegmentSize, Threads: opts.Threads + 1})
	if err != nil {
		return nil, err
	}
	seed := opts.Seed
	if seed == 0 {
		seed = 0x5eed
	}
	s := &Sim{opts: opts, w: w, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), start: time.Now(), ifIndex: map[string]int{}}
	if err := s.build(); err != nil {
		w.Close()
		return nil, err
	}
	s.Collect()
	return s, nil
}

// Writer returns the segment writer, e.g. to serve Writer().Fd().
func (s *Sim) Writer() *segwriter.Writer { return s.w }

// Close releases the segment.
func (s *Sim) Close() error { return s.w.Close() }

// Run drives the simulation until ctx is done: live interface and error
// counters every 100ms, the collector every UpdateInterval, and interface
// churn every Churn.
func (s *Sim) Run(ctx context.Context) error {
	const tick = 100 * time.Millisecond
	live := time.NewTicker(tick)
	defer live.Stop()
	collect := time.NewTicker(s.opts.UpdateInterval)
	defer collect.Stop()
	var churn <-chan time.Time
	if s.opts.Churn > 0 {
		t := time.NewTicker(s.opts.Churn)
		defer t.Stop()
		churn = t.C
	}
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-live.C:
			s.Advance(now.Sub(last))
			last = now
		case <-collect.C:
			s.Collect()
		case <-churn:
			if err := s.Churn(); err != nil {
				return err
			}
		}
	}
}

func (s *Sim) build() (err error) {
	w, o := s.w, s.opts
	workers := o.Threads + 1
	// Collect errors in order and stop at the first: the registration
	// sequence below mirrors VPP's start-up order, which is worth keeping
	// readable.
	scalar := func(name string, gauge bool) segwriter.Scalar {
		if err != nil {
			return segwriter.Scalar{}
		}
		var h segwriter.Scalar
		if gauge {
			h, err = w.AddGauge(name)
		} else {
			h, err = w.AddScalar(name)
		}
		return h
	}
	simple := func(name string, rows, n int) segwriter.SimpleCounter {
		if err != nil {
			return segwriter.SimpleCounter{}
		}
		var h segwriter.SimpleCounter
		h, err = w.AddSimpleCounterRows(name, rows, n)
		return h
	}
	// VPP adds the symlinks of graph nodes (stats/collector.c) and of
	// interfaces (interface_stats.c) inside vlib_stats_segment_lock, and
	// those of memory heaps (provider_mem.c) and error counters (error.c)
	// with a bare vlib_stats_add_symlink: no in_progress, no new epoch.
	link := func(name string, target uint32, col int) {
		if err == nil {
			_, err = w.AddSymlink(name, target, uint32(col))
		}
	}
	linkUnlocked := func(name string, target uint32, col int) {
		if err == nil {
			_, err = w.AddSymlinkUnlocked(name, target, uint32(col))
		}
	}
	memHeap := func(heap string) segwriter.SimpleCounter {
		c := simple("/mem/"+heap, 1, 7)
		if err == nil {
			linkUnlocked("/mem/"+heap+"/used", c.Index(), 1)
			linkUnlocked("/mem/"+heap+"/total", c.Index(), 0)
			linkUnlocked("/mem/"+heap+"/free", c.Index(), 2)
		}
		return c
	}

	s.heartbeat = scalar("/sys/heartbeat", false)
	s.lastClear = scalar("/sys/last_stats_clear", false)
	s.boottime = scalar("/sys/boottime", false)
	s.memStat = memHeap("stat segment")
	s.vectorRate = scalar("/sys/vector_rate", true)
	s.vectorRatePerWorker = simple("/sys/vector_rate_per_worker", 1, workers)
	s.loopsPerWorker = simple("/sys/loops_per_worker", 1, workers)
	s.bufCached = scalar("/buffer-pools/default-numa-0/cached", true)
	s.bufUsed = scalar("/buffer-pools/default-numa-0/used", true)
	s.bufAvail = scalar("/buffer-pools/default-numa-0/available", true)
	s.numWorkers = scalar("/sys/num_worker_threads", true)

	s.errCounters = simple("/node/errors", workers, o.Errors)
	for i := 0; i < o.Errors && err == nil; i++ {
		node, reason := errorName(i)
		linkUnlocked(fmt.Sprintf("/err/%s/%s", node, reason), s.errCounters.Index(), i)
	}
	s.lastUpdate = scalar("/sys/last_update", false)
	s.inputRate = scalar("/sys/input_rate", true)

	for i, n := range ifSimpleNames {
		s.ifSimple[i] = simple("/if/"+n, workers, 1)
	}
	for i, n := range ifCombinedNames {
		if err == nil {
			s.ifCombined[i], err = w.AddCombinedCounter("/if/"+n, 1)
		}
	}
	if err == nil {
		s.ifNames, err = w.AddNameVector("/if/names", nil)
	}
	if err != nil {
		return err
	}
	if err := s.addInterface("local0", false); err != nil {
		return err
	}

	s.memMain = memHeap("main heap")
	names := nodeNames(o.Nodes)
	if err == nil {
		s.nodeNames, err = w.AddNameVector("/sys/node/names", names)
	}
	// VPP sizes node counters with one thread row more than it has threads.
	for i, n := range nodeCounterNames {
		s.node[i] = simple("/sys/node/"+n, workers+1, o.Nodes)
	}
	for j := 0; j < o.Nodes && err == nil; j++ {
		for i, n := range nodeCounterNames {
			link(fmt.Sprintf("/nodes/%s/%s", symlinkName(names[j]), n), s.node[i].Index(), j)
		}
	}
	if err != nil {
		return err
	}
	s.nodePkts = make([]uint64, o.Nodes)

	s.boottime.Set(uint64(s.start.Unix()))
	s.numWorkers.Set(uint64(o.Threads))
	for range o.Interfaces {
		if _, err := s.AddInterface(""); err != nil {
			return err
		}
	}
	return nil
}

// symlinkName is how VPP turns an object name into one path element of a
// symlink: slashes become underscores.
func symlinkName(s string) string { return strings.ReplaceAll(s, "/", "_") }

// AddInterface creates an interface, reusing the most recently freed
// sw_if_index as VPP does, and returns its index. An empty name picks a
// realistic new one.
func (s *Sim) AddInterface(name string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" {
		name = s.newName()
	}
	if err := s.addInterface(name, true); err != nil {
		return -1, err
	}
	return s.indexOf(name), nil
}

func (s *Sim) indexOf(name string) int {
	if i, ok := s.ifIndex[name]; ok {
		return i
	}
	return -1
}

func (s *Sim) newName() string {
	for {
		n := s.nextName
		s.nextName++
		var name string
		switch n % 4 {
		case 0:
			name = fmt.Sprintf("GigabitEthernet0/%x/0", 8+n/4)
		case 1:
			name = fmt.Sprintf("tap%d", n/4)
		case 2:
			name = fmt.Sprintf("loop%d", n/4)
		case 3:
			name = fmt.Sprintf("vxlan_tunnel%d", n/4)
		}
		if s.indexOf(name) < 0 {
			return name
		}
	}
}

func (s *Sim) addInterface(name string, traffic bool) error {
	if s.indexOf(name) >= 0 {
		return fmt.Errorf("vppsim: interface %s exists", name)
	}
	idx := len(s.ifaces)
	if n := len(s.freeIfs); n > 0 {
		idx = s.freeIfs[n-1]
		s.freeIfs = s.freeIfs[:n-1]
	} else {
		s.ifaces = append(s.ifaces, nil)
	}
	// vlib_validate_*_counter: grow the vectors to cover the new index;
	// a reused index is zeroed, as vnet does when creating an interface.
	for _, c := range s.ifSimple {
		if c.Len() <= idx {
			if err := c.Resize(idx + 1); err != nil {
				return err
			}
		}
		for th := range c.Rows() {
			c.Set(th, idx, 0)
		}
	}
	for _, c := range s.ifCombined {
		if c.Len() <= idx {
			if err := c.Resize(idx + 1); err != nil {
				return err
			}
		}
		for th := range c.Rows() {
			c.Set(th, idx, statseg.Combined{})
		}
	}
	if err := s.ifNames.SetName(idx, name); err != nil {
		return err
	}
	f := &iface{name: name, size: 64 + uint64(s.rng.IntN(24))*64, traffic: traffic}
	link := func(ctr string, target uint32) error {
		h, err := s.w.AddSymlink(fmt.Sprintf("/interfaces/%s/%s", symlinkName(name), ctr), target, uint32(idx))
		if err == nil {
			f.links = append(f.links, h)
		}
		return err
	}
	for i, n := range ifSimpleNames {
		if err := link(n, s.ifSimple[i].Index()); err != nil {
			return err
		}
	}
	for i, n := range ifCombinedNames {
		if err := link(n, s.ifCombined[i].Index()); err != nil {
			return err
		}
	}
	s.ifaces[idx] = f
	s.ifIndex[name] = idx
	return nil
}

// DeleteInterface deletes the interface at swIfIndex: its name becomes
// "deleted", its symlinks go away, its counters stay (and are zeroed when
// the index is reused), as in VPP. local0 cannot be deleted.
func (s *Sim) DeleteInterface(swIfIndex int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if swIfIndex <= 0 || swIfIndex >= len(s.ifaces) || s.ifaces[swIfIndex] == nil {
		return fmt.Errorf("vppsim: no interface %d to delete", swIfIndex)
	}
	f := s.ifaces[swIfIndex]
	for _, h := range f.links {
		if err := h.Delete(); err != nil {
			return err
		}
	}
	if err := s.ifNames.SetName(swIfIndex, "deleted"); err != nil {
		return err
	}
	s.ifaces[swIfIndex] = nil
	delete(s.ifIndex, f.name)
	s.freeIfs = append(s.freeIfs, swIfIndex)
	return nil
}

// Interfaces returns the interface names by sw_if_index ("" for deleted).
func (s *Sim) Interfaces() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.ifaces))
	for i, f := range s.ifaces {
		if f != nil {
			out[i] = f.name
		}
	}
	return out
}

// Churn deletes a random interface when there are at least
// Options.Interfaces of them, and creates one otherwise.
func (s *Sim) Churn() error {
	s.mu.Lock()
	var live []int
	for i, f := range s.ifaces {
		if i > 0 && f != nil {
			live = append(live, i)
		}
	}
	remove := len(live) >= s.opts.Interfaces && len(live) > 0
	var victim int
	if remove {
		victim = live[s.rng.IntN(len(live))]
	}
	s.mu.Unlock()
	if remove {
		return s.DeleteInterface(victim)
	}
	_, err := s.AddInterface("")
	return err
}

// Advance simulates dt of traffic: every interface receives Rate packets
// per second on the workers and forwards most of them. All counters of one
// interface stay consistent: rx = rx-unicast + rx-multicast + rx-broadcast,
// bytes = packets × the interface's packet size, tx = rx - drops.
func (s *Sim) Advance(dt time.Duration) {
	if dt <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	workers := s.opts.Threads
	for idx, f := range s.ifaces {
		if f == nil || !f.traffic {
			continue
		}
		f.frac += s.opts.Rate * dt.Seconds()
		pkts := uint64(f.frac)
		f.frac -= float64(pkts)
		if pkts == 0 {
			continue
		}
		s.pending += float64(pkts)
		// Receive queues are spread over the workers (thread 0 is main and
		// sees no traffic unless there are no workers).
		th := 0
		if workers > 0 {
			th = 1 + idx%workers
		}
		mcast, bcast := pkts/50, pkts/400
		ucast := pkts - mcast - bcast
		drops := pkts / 200
		fwd := pkts - drops
		sz := f.size

		s.ifCombined[ifRx].Add(th, idx, pkts, pkts*sz)
		s.ifCombined[ifRxUnicast].Add(th, idx, ucast, ucast*sz)
		s.ifCombined[ifRxMulticast].Add(th, idx, mcast, mcast*sz)
		s.ifCombined[ifRxBroadcast].Add(th, idx, bcast, bcast*sz)
		s.ifCombined[ifTx].Add(th, idx, fwd, fwd*sz)
		s.ifCombined[ifTxUnicast].Add(th, idx, fwd, fwd*sz)
		ip6 := ucast / 5
		s.ifSimple[ifIP4].Add(th, idx, ucast-ip6)
		s.ifSimple[ifIP6].Add(th, idx, ip6)
		s.ifSimple[ifDrops].Add(th, idx, drops)
		s.ifSimple[ifPunt].Add(th, idx, bcast)
		if s.rng.IntN(20) == 0 {
			s.ifSimple[ifRxMiss].Add(th, idx, 1+uint64(s.rng.IntN(8)))
		}

		// Error counters are live too: drops land on a couple of reasons.
		if drops > 0 {
			s.errCounters.Add(th, 0, drops)
			if s.opts.Errors > 1 {
				s.errCounters.Add(th, 1+idx%(s.opts.Errors-1), drops/2)
			}
		}
	}
}

// Collect is one pass of VPP's stats collector (every UpdateInterval):
// heartbeat, timestamps, rates, node counters, memory and buffer pools.
func (s *Sim) Collect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Since(s.start).Seconds()
	s.heartbeat.Set(s.heartbeat.Get() + 1)
	s.lastUpdate.Set(uint64(now))

	interval := s.opts.UpdateInterval.Seconds()
	pps := s.pending / interval
	s.inputRate.Set(uint64(pps))
	workers := max(s.opts.Threads, 1)
	vecRate := uint64(1)
	if pps > 0 {
		vecRate = min(256, 1+uint64(pps/float64(workers)/2e4))
	}
	s.vectorRate.Set(vecRate)
	for th := range s.opts.Threads + 1 {
		r := vecRate
		if th == 0 && s.opts.Threads > 0 {
			r = 0
		}
		s.vectorRatePerWorker.Set(0, th, r)
		s.loopsPerWorker.Set(0, th, loopsPerSecond(th, s.opts.Threads, vecRate))
	}

	// Node counters: data-path nodes on the workers carry the traffic,
	// process nodes on main wake up and suspend.
	perWorker := uint64(s.pending) / uint64(workers)
	for j := range s.opts.Nodes {
		for th := range s.opts.Threads + 1 {
			var vectors, calls, suspends uint64
			switch {
			case j%9 == 3: // process node, main thread
				if th == 0 {
					calls = uint64(interval * 10)
					suspends = calls
				}
			case j%3 == 1 && (th > 0 || s.opts.Threads == 0):
				vectors = perWorker
				calls = max(vectors/vecRate, 1)
			}
			if calls == 0 {
				continue
			}
			s.node[0].Add(th, j, calls*200+vectors*uint64(30+j%70))
			s.node[1].Add(th, j, vectors)
			s.node[2].Add(th, j, calls)
			s.node[3].Add(th, j, suspends)
		}
	}
	s.pending = 0

	total, used, free := s.w.MemUsage()
	setMem(s.memStat, total, used, free)
	const mainHeap = 1 << 30
	mainUsed := uint64(40<<20) + uint64(len(s.ifaces))<<16 + uint64(s.rng.IntN(1<<20))
	setMem(s.memMain, mainHeap, mainUsed, mainHeap-mainUsed)

	const buffers = 16384
	inFlight := min(uint64(pps/100), buffers/2) + uint64(s.rng.IntN(64))
	cached := uint64(128 + s.rng.IntN(128))
	s.bufUsed.Set(inFlight + 256)
	s.bufCached.Set(cached)
	s.bufAvail.Set(buffers - inFlight - 256 - cached)
}

// loopsPerSecond is what VPP's collector stores in /sys/loops_per_worker
// for thread th: the thread's main-loop rate (vlib_main_t's
// loops_per_second), set anew on each pass, not accumulated. The main
// thread waits in epoll (a few thousand loops a second, as in the
// captures); a polling worker loops millions of times a second, fewer as
// its frames fill.
func loopsPerSecond(th, workers int, vecRate uint64) uint64 {
	if th == 0 && workers > 0 {
		return 5000
	}
	return 8_000_000 / vecRate
}

// setMem fills a /mem/<heap> vector: total, used, free, used by mmap, total
// allocated, free chunks, releasable (provider_mem.c).
func setMem(c segwriter.SimpleCounter, total, used, free uint64) {
	for i, v := range []uint64{total, used, free, 0, total, 100 + used%1000, free - free/64} {
		c.Set(0, i, v)
	}
}

// Clear zeroes every interface counter in place, like `clear interfaces`:
// no directory change, no timestamp.
func (s *Sim) Clear() {
	for _, c := range s.ifSimple {
		c.Clear()
	}
	for _, c := range s.ifCombined {
		c.Clear()
	}
}

// ClearRuntime zeroes the node counters and records the time in
// /sys/last_stats_clear, like `clear runtime`.
func (s *Sim) ClearRuntime() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.node {
		c.Clear()
	}
	s.lastClear.Set(uint64(time.Since(s.start).Seconds()))
}
