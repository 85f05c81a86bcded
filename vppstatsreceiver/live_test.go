package vppstatsreceiver

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/internal/testutil"
	"github.com/vppstats/vppstats/internal/vppsim"
)

// live is a simulated VPP served on a real stats socket, and a scraper of it
// with a clock the test moves.
type live struct {
	t     *testing.T
	sim   *vppsim.Sim
	srv   *segwriter.Server
	sock  string
	clock time.Time
	s     *vppScraper
}

func newLive(t *testing.T, opts vppsim.Options, mutate func(*Config)) *live {
	t.Helper()
	l := &live{t: t, sock: socketPath(t)}
	l.sim = l.newSim(opts)
	var err error
	l.srv, err = segwriter.NewServer(l.sock, l.sim.Writer().Fd())
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.srv.Close() })
	l.clock = time.Now()
	l.s = newTestScraper(t, l.sock, func(c *Config) {
		c.StaleAfter = defaultStaleAfter
		if mutate != nil {
			mutate(c)
		}
	})
	l.s.now = func() time.Time { return l.clock }
	return l
}

func (l *live) newSim(opts vppsim.Options) *vppsim.Sim {
	sim, err := vppsim.New(opts)
	require.NoError(l.t, err)
	l.t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// scrape moves the clock by dt and scrapes.
func (l *live) scrape(dt time.Duration) (pmetric.Metrics, error) {
	l.clock = l.clock.Add(dt)
	return l.s.scrape(context.Background())
}

func (l *live) mustScrape(dt time.Duration) pmetric.Metrics {
	l.t.Helper()
	m, err := l.scrape(dt)
	require.NoError(l.t, err)
	return m
}

func (l *live) ts() pcommon.Timestamp { return pcommon.NewTimestampFromTime(l.clock) }

func scalarOf(t *testing.T, sim *vppsim.Sim, name string) segwriter.Scalar {
	t.Helper()
	h, ok := sim.Writer().Lookup(name)
	require.True(t, ok, name)
	return segwriter.Scalar{Handle: h}
}

func bootTs(t *testing.T, sim *vppsim.Sim) pcommon.Timestamp {
	return pcommon.Timestamp(scalarOf(t, sim, "/sys/boottime").Get() * uint64(time.Second))
}

// dataPoints returns the points of metric name in m, by attribute key.
func dataPoints(m pmetric.Metrics, name string) map[string]pmetric.NumberDataPoint {
	out := map[string]pmetric.NumberDataPoint{}
	for _, p := range testutil.Points(m) {
		if p.Metric == name {
			out[p.Key()] = p.DP
		}
	}
	return out
}

func ifKey(idx int, name, dir string) string {
	return key("network.interface.name", name, "vpp.interface.index", strconv.Itoa(idx), "network.io.direction", dir)
}

func TestLiveCountersAdvanceWithStableStart(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 3}, nil)
	boot := bootTs(t, l.sim)
	m1 := dataPoints(l.mustScrape(0), "vpp.interface.packets")
	l.sim.Advance(2 * time.Second)
	l.sim.Collect()
	m2 := dataPoints(l.mustScrape(10*time.Second), "vpp.interface.packets")
	names := l.sim.Interfaces()
	require.Len(t, m2, 2*len(names))
	grew := 0
	for idx, n := range names {
		for _, dir := range []string{"receive", "transmit"} {
			k := ifKey(idx, n, dir)
			p1, p2 := m1[k], m2[k]
			require.GreaterOrEqual(t, p2.IntValue(), p1.IntValue(), k)
			if p2.IntValue() > p1.IntValue() {
				grew++
			}
			assert.Equal(t, boot, p1.StartTimestamp(), k)
			assert.Equal(t, boot, p2.StartTimestamp(), k)
			assert.Equal(t, l.ts(), p2.Timestamp(), k)
		}
	}
	require.Positive(t, grew)
}

func TestLiveClearInterfacesRestartsSeries(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 2}, nil)
	boot := bootTs(t, l.sim)
	l.sim.Advance(2 * time.Second)
	l.mustScrape(0)
	l.sim.Advance(2 * time.Second)
	l.sim.Collect()
	before := dataPoints(l.mustScrape(10*time.Second), "vpp.interface.packets")
	t2 := l.ts()
	l.sim.Clear() // `clear interfaces`
	l.sim.Advance(100 * time.Millisecond)
	l.sim.Collect()
	m := l.mustScrape(10 * time.Second)
	after := dataPoints(m, "vpp.interface.packets")
	k := ifKey(1, l.sim.Interfaces()[1], "receive")
	require.Less(t, after[k].IntValue(), before[k].IntValue())
	assert.Equal(t, t2, after[k].StartTimestamp(), "a counter that went backwards restarts at the previous scrape")
	// Node counters were not cleared: still counting since boot.
	for k, p := range dataPoints(m, "vpp.node.calls") {
		assert.Equal(t, boot, p.StartTimestamp(), k)
	}
	// The next scrape keeps the new start.
	l.sim.Advance(time.Second)
	l.sim.Collect()
	assert.Equal(t, t2, dataPoints(l.mustScrape(10*time.Second), "vpp.interface.packets")[k].StartTimestamp())
}

func TestLiveClearRuntimeRestartsNodeSeries(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 2}, nil)
	l.sim.Advance(2 * time.Second)
	l.sim.Collect()
	l.mustScrape(0)
	t1 := l.ts()
	l.sim.ClearRuntime()
	l.sim.Advance(time.Second)
	l.sim.Collect()
	// last_stats_clear is seconds since VPP started (0: never, or within
	// the first second, when the previous scrape stands in for it).
	want := t1
	if c := scalarOf(t, l.sim, "/sys/last_stats_clear").Get(); c > 0 {
		want = bootTs(t, l.sim) + pcommon.Timestamp(c*uint64(time.Second))
	}
	m := l.mustScrape(10 * time.Second)
	restarted := 0
	for k, p := range dataPoints(m, "vpp.node.calls") {
		if p.StartTimestamp() != bootTs(t, l.sim) {
			restarted++
			assert.Equal(t, want, p.StartTimestamp(), k)
		}
	}
	require.Positive(t, restarted, "some node counter went backwards after clear runtime")
}

func TestLiveInterfaceDeletionAndIndexReuse(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 3}, nil)
	boot := bootTs(t, l.sim)
	l.sim.Advance(time.Second)
	l.mustScrape(0)
	old := l.sim.Interfaces()[2]
	require.NoError(t, l.sim.DeleteInterface(2))
	m := dataPoints(l.mustScrape(10*time.Second), "vpp.interface.packets")
	t2 := l.ts()
	for k := range m {
		assert.NotContains(t, k, "vpp.interface.index=2,", "deleted interface emitted")
	}
	require.Len(t, m, 2*3)

	idx, err := l.sim.AddInterface("newif0")
	require.NoError(t, err)
	require.Equal(t, 2, idx, "VPP reuses the freed index")
	l.sim.Advance(time.Second)
	m = dataPoints(l.mustScrape(10*time.Second), "vpp.interface.packets")
	p, ok := m[ifKey(2, "newif0", "receive")]
	require.True(t, ok)
	assert.Equal(t, t2, p.StartTimestamp(), "a new interface at a reused index starts at the previous scrape")
	_, ok = m[ifKey(2, old, "receive")]
	assert.False(t, ok)
	assert.Equal(t, boot, m[ifKey(1, l.sim.Interfaces()[1], "receive")].StartTimestamp())
}

func TestLiveBusySegmentRetriesThenFailsWithoutDisconnecting(t *testing.T) {
	l := newLive(t, vppsim.Options{}, nil)
	l.mustScrape(0)
	release := l.sim.Writer().HoldLock()
	_, err := l.scrape(10 * time.Second)
	release()
	require.ErrorIs(t, err, statseg.ErrBusy)
	require.NotNil(t, l.s.r, "a busy segment is not a reason to reconnect")
	l.sim.Collect()
	l.mustScrape(time.Second)
}

func TestLivePerThread(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 3, Threads: 2, Errors: 40}, func(c *Config) {
		c.PerThread = true
		c.Errors.IncludeZero = true
	})
	l.sim.Advance(2 * time.Second)
	l.sim.Collect()
	summed := newTestScraper(t, l.sock, func(c *Config) { c.Errors.IncludeZero = true })
	sm, err := summed.scrape(context.Background())
	require.NoError(t, err)
	pm := l.mustScrape(0)
	for _, metric := range []string{"vpp.interface.packets", "vpp.interface.io", "vpp.node.clocks", "vpp.node.errors"} {
		per := dataPoints(pm, metric)
		sum := dataPoints(sm, metric)
		require.NotEmpty(t, sum, metric)
		totals := map[string]int64{}
		threads := map[int64]bool{}
		for _, p := range per {
			th, ok := p.Attributes().Get("vpp.thread.index")
			require.True(t, ok, metric)
			threads[th.Int()] = true
			a := pcommon.NewMap()
			p.Attributes().CopyTo(a)
			a.Remove("vpp.thread.index")
			totals[attrKey(a)] += p.IntValue()
		}
		require.GreaterOrEqual(t, len(threads), 3, metric) // main + 2 workers
		require.Len(t, totals, len(sum), metric)
		for k, p := range sum {
			assert.Equal(t, p.IntValue(), totals[k], "%s %s", metric, k)
		}
	}
}

func TestLiveFilters(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 4, Errors: 400}, nil)
	names := l.sim.Interfaces()
	l.s.shutdown(context.Background())
	s := newTestScraper(t, l.sock, func(c *Config) {
		c.Interfaces.Exclude = []string{"^" + names[1] + "$", "^local0$"}
		c.Nodes.Include = []string{"^ip4-"}
		c.Errors.Include = []string{"^sim-node-40/"}
		c.Errors.IncludeZero = true
	})
	m, err := s.scrape(context.Background())
	require.NoError(t, err)
	ifs := map[string]bool{}
	for _, p := range dataPoints(m, "vpp.interface.packets") {
		n, _ := p.Attributes().Get("network.interface.name")
		ifs[n.Str()] = true
	}
	assert.Len(t, ifs, len(names)-2)
	assert.NotContains(t, ifs, names[1])
	assert.NotContains(t, ifs, "local0")
	nodes := dataPoints(m, "vpp.node.calls")
	require.NotEmpty(t, nodes)
	for k := range nodes {
		assert.Contains(t, k, "vpp.node.name=ip4-")
	}
	errs := dataPoints(m, "vpp.node.errors")
	require.Len(t, errs, 8) // sim-node-40 has 8 reasons
	for k := range errs {
		assert.True(t, strings.HasSuffix(k, "vpp.node.name=sim-node-40"), k)
	}
}
