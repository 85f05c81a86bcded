package vppstatsreceiver

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/scraper/scrapererror"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

// testVPP is a small segment: two threads, interfaces local0, eth0 and a
// deleted slot; two nodes; /node/errors with two named columns; a buffer
// pool, a heap and a catch-all counter.
func testVPP(t *testing.T) *segwriter.Writer {
	t.Helper()
	w, err := segwriter.NewWriter(segwriter.WriterOptions{Size: 1 << 20, Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	must := func(_ any, err error) { t.Helper(); require.NoError(t, err) }
	must(w.AddNameVector("/if/names", []string{"local0", "eth0", "deleted"}))
	rx, err := w.AddCombinedCounter("/if/rx", 3)
	require.NoError(t, err)
	rx.Add(1, 1, 10, 640)
	must(w.AddSimpleCounter("/if/drops", 3))
	must(w.AddCombinedCounter("/if/rx-unicast", 3))
	must(w.AddNameVector("/sys/node/names", []string{"ip4-lookup", "ethernet-input"}))
	must(w.AddSimpleCounterRows("/sys/node/calls", 3, 2))
	errs, err := w.AddSimpleCounter(pathNodeErrors, 2)
	require.NoError(t, err)
	must(w.AddSymlink("/err/ip4-input/bad checksum", errs.Index(), 0))
	must(w.AddSymlink("/err/ip4-input/ttl expired", errs.Index(), 1))
	must(w.AddScalar("/buffer-pools/default-numa-0/cached"))
	heap, err := w.AddSimpleCounterRows("/mem/main heap", 1, 3)
	require.NoError(t, err)
	for c, st := range []string{"used", "total", "free"} {
		must(w.AddSymlink("/mem/main heap/"+st, heap.Index(), uint32(c)))
	}
	must(w.AddSimpleCounter("/net/route/to", 4))
	must(w.AddScalar("/sys/heartbeat")) // read by no metric: never copied
	return w
}

// dirOf resolves w's directory as a reader sees it.
func dirOf(t *testing.T, w *segwriter.Writer) *statseg.Dir {
	t.Helper()
	r, err := statseg.FromBytes(w.Bytes())
	require.NoError(t, err)
	d, err := r.Directory()
	require.NoError(t, err)
	return d
}

// defaultPlanConfig is the plan configuration of the default receiver
// configuration.
func defaultPlanConfig(t *testing.T, mutate func(*Config)) *planConfig {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.SocketPath = "/nonexistent"
	if mutate != nil {
		mutate(cfg)
	}
	s, err := newScraper(cfg, receivertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	require.NoError(t, s.start(context.Background(), nil))
	t.Cleanup(func() { require.NoError(t, s.shutdown(context.Background())) })
	return &s.pc
}

// sourcesOf lists the plan's sources as "metric path field → columns".
func sourcesOf(p *plan) map[string][]int32 {
	out := map[string][]int32{}
	for _, s := range p.sources {
		out[s.metric.Name()+" "+s.key()] = s.cols
	}
	return out
}

// TestPlanFromDirectoryAlone: the plan is made from the directory and the
// configuration only, without reading a value: the enabled metrics, the
// live columns, nothing for opt-in metrics.
func TestPlanFromDirectoryAlone(t *testing.T) {
	d := dirOf(t, testVPP(t))
	p := buildPlan(d, defaultPlanConfig(t, nil))
	require.Equal(t, map[string][]int32{
		"vpp.interface.packets /if/rx#1":   {0, 1}, // not the deleted slot
		"vpp.interface.io /if/rx#2":        {0, 1},
		"vpp.interface.drops /if/drops#0":  {0, 1},
		"vpp.node.calls /sys/node/calls#0": {0, 1},
		"vpp.node.errors /node/errors#0":   {0, 1},
	}, sourcesOf(p))
	require.Equal(t, 2, p.threads)
	require.Len(t, p.scalars, 1) // the buffer pool
	require.Len(t, p.mems, 3)
	require.Equal(t, -1, p.boottime)

	// Opt-in metrics and the catch-all, switched on; per_thread keeps
	// the node vector's extra row out.
	p = buildPlan(d, defaultPlanConfig(t, func(c *Config) {
		c.Metrics.VppInterfaceCastPackets.Enabled = true
		c.Metrics.VppStatCounter.Enabled = true
		c.Stats.Include = []string{"^/net/"}
		c.PerThread = true
	}))
	got := sourcesOf(p)
	require.Equal(t, []int32{0, 1}, got["vpp.interface.cast.packets /if/rx-unicast#1"])
	require.NotContains(t, got, "vpp.interface.cast.io /if/rx-unicast#2")
	require.Equal(t, []int32{0, 1, 2, 3}, got["vpp.stat.counter /net/route/to#0"])
	for _, s := range p.sources {
		require.Equal(t, 2, s.state.nt, s.key())
	}
}

// TestWantFollowsTheTable: a snapshot copies what an enabled metric needs
// and nothing else.
func TestWantFollowsTheTable(t *testing.T) {
	d := dirOf(t, testVPP(t))
	wanted := func(c *planConfig) []string {
		var out []string
		for i := range d.Entries {
			if e := &d.Entries[i]; e.Type != statseg.TypeEmpty && c.want(e) {
				out = append(out, e.Name)
			}
		}
		return out
	}
	require.ElementsMatch(t, []string{"/if/rx", "/if/drops", "/sys/node/calls", pathNodeErrors,
		"/buffer-pools/default-numa-0/cached", "/mem/main heap"}, wanted(defaultPlanConfig(t, nil)))
	fewer := func(c *Config) {
		c.Metrics.VppInterfaceDrops.Enabled = false
		c.Metrics.VppNodeCalls.Enabled = false
		c.Metrics.VppNodeErrors.Enabled = false
		c.Metrics.VppBufferPoolBuffers.Enabled = false
		c.Metrics.VppMemoryHeapSize.Enabled = false
		c.Metrics.VppMemoryHeapUsage.Enabled = false
	}
	// vpp.node.calls off, vpp.node.vectors and .clocks on: calls are still
	// read, to leave idle nodes out...
	require.ElementsMatch(t, []string{"/if/rx", "/sys/node/calls"}, wanted(defaultPlanConfig(t, fewer)))
	// ...unless idle nodes are reported too.
	require.ElementsMatch(t, []string{"/if/rx"}, wanted(defaultPlanConfig(t, func(c *Config) {
		fewer(c)
		c.Nodes.IncludeIdle = true
	})))
	// No node metric at all: nothing to tell idle nodes apart for.
	require.ElementsMatch(t, []string{"/if/rx"}, wanted(defaultPlanConfig(t, func(c *Config) {
		fewer(c)
		c.Metrics.VppNodeVectors.Enabled = false
		c.Metrics.VppNodeClocks.Enabled = false
	})))
}

// TestEveryMetricHasASource: every metric of metadata.yaml is fed by a row
// of the table (or is the catch-all), and every row feeds declared metrics.
func TestEveryMetricHasASource(t *testing.T) {
	fed := map[metadata.MetricID]bool{metadata.MetricVppStatCounter: true, metadata.MetricVppStatGauge: true}
	for _, m := range meanings {
		if m.use == useMetric || m.use == useBoot || m.use == useBufferPool || m.use == useHeap {
			require.NotEmpty(t, m.fields, m.path)
		}
		for _, f := range m.fields {
			require.Less(t, f.metric, metadata.NumMetrics, m.path)
			fed[f.metric] = true
		}
		if m.shape == shapeCombined {
			require.Len(t, m.fields, 2, "%s: packets and bytes", m.path)
		}
	}
	for id := range metadata.NumMetrics {
		require.True(t, fed[id], "%s has no row in the table", id.Name())
	}
}

// TestCraftedErrorLinkBoundsAllocation: a single /err/* symlink claiming
// column 5,000,000 of a two-column /node/errors once made a scrape allocate
// 234 MiB. statseg marks the link unreadable; the scrape leaves it out,
// reports it, and allocates about what a normal scrape does.
func TestCraftedErrorLinkBoundsAllocation(t *testing.T) {
	w := testVPP(t)
	errs, ok := dirOf(t, w).Lookup(pathNodeErrors)
	require.True(t, ok)
	_, err := w.AddSymlink("/err/evil/far away", uint32(errs.Index), 5_000_000)
	require.NoError(t, err)

	s := newTestScraper(t, serveWriter(t, w), nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	md, err := s.scrape(context.Background())
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	require.True(t, scrapererror.IsPartialScrapeError(err), "want a partial scrape error, got %v", err)
	require.ErrorContains(t, err, `"/err/evil/far away"`)
	require.ErrorContains(t, err, "1 VPP stat entries could not be read")
	var pe scrapererror.PartialScrapeError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 1, pe.Failed, "one metric (vpp.node.errors) is incomplete")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "bytes allocated by one scrape")
	require.NotEmpty(t, dataPoints(md, "vpp.interface.packets"))
}

// TestClearRuntimeSeenLate: VPP publishes node counters once per update
// interval, so after `clear runtime` a scrape may still see the old values
// (with /sys/last_stats_clear already set), and only the next one the
// drop. The restarted series begins at the recorded clear, not at the
// scrape in between.
func TestClearRuntimeSeenLate(t *testing.T) {
	w, err := segwriter.NewWriter(segwriter.WriterOptions{Size: 1 << 20, Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	_, err = w.AddNameVector("/sys/node/names", []string{"ip4-lookup"})
	require.NoError(t, err)
	calls, err := w.AddSimpleCounter("/sys/node/calls", 1)
	require.NoError(t, err)
	boot, err := w.AddScalar(pathBoottime)
	require.NoError(t, err)
	boot.Set(uint64(captureNow.Unix()) - 100)
	cleared, err := w.AddScalar(pathLastStatsClear)
	require.NoError(t, err)
	set := func(v uint64) { calls.Set(0, 0, v) }

	s := newTestScraper(t, serveWriter(t, w), nil)
	clock := captureNow
	s.now = func() time.Time { return clock }
	bootTs := pcommon.Timestamp(uint64(captureNow.Unix()-100) * uint64(time.Second))
	start := func() pcommon.Timestamp {
		t.Helper()
		md, err := s.scrape(context.Background())
		require.NoError(t, err)
		dp, ok := dataPoints(md, "vpp.node.calls")["vpp.node.name=ip4-lookup"]
		require.True(t, ok)
		return dp.StartTimestamp()
	}
	set(1000)
	require.Equal(t, bootTs, start())

	clock = clock.Add(10 * time.Second)
	cleared.Set(105) // `clear runtime` 105 s after boot; counters not yet published
	require.Equal(t, bootTs, start(), "no drop seen yet")

	clock = clock.Add(10 * time.Second)
	set(3)
	require.Equal(t, bootTs+105*pcommon.Timestamp(time.Second), start(), "restarts at the clear")
}
