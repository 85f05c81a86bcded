//go:build vpp

package vppstatsreceiver

import (
	"context"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vppstats/vppstats/internal/testutil"
	"github.com/vppstats/vppstats/internal/vpptest"
)

// The receiver's values against VPP's own C reader (vpp_get_stats) on a
// live VPP: every interface, node and error counter and every gauge, after
// traffic, after churn, and after `clear`.

// trafficSetup gives VPP interfaces, a sub-interface, and two bounded
// packet-generator streams (one forwarded out loop1, one to a closed port
// on VPP itself, which counts errors). Without workers, the main thread
// runs them.
var trafficSetup = []string{
	"create loopback interface",
	"create loopback interface",
	"create sub-interfaces loop0 100",
	"set interface state loop0 up",
	"set interface state loop1 up",
	"set interface state loop0.100 up",
	"set interface ip address loop0 10.10.0.1/24",
	"set interface ip address loop1 10.10.1.1/24",
	"set ip neighbor loop1 10.10.1.2 02:00:00:00:01:02 static",
	"packet-generator new { name s0 limit 5000 rate 100000 size 64-64 interface loop0 node ip4-input data { UDP: 10.10.0.2 -> 10.10.1.2 UDP: 1234 -> 5678 incrementing 30 } }",
	"packet-generator new { name s1 limit 300 rate 100000 size 100-100 interface loop0 node ip4-input data { UDP: 10.10.0.2 -> 10.10.0.1 UDP: 1234 -> 9999 incrementing 30 } }",
	"packet-generator enable-stream",
}

// runTraffic runs trafficSetup and waits until the streams have sent all
// their packets.
func runTraffic(t *testing.T, v *vpptest.VPP) {
	t.Helper()
	_, err := v.ExecLines(trafficSetup...)
	require.NoError(t, err)
	for range 600 {
		out := v.MustCLI(t, "show packet-generator")
		if !strings.Contains(out, " Yes ") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("packet-generator streams still running after 30 s")
}

// waitUpdate waits until VPP has refreshed its stats segment twice (its
// heartbeat moved by 2), so node counters include all that happened before.
func waitUpdate(t *testing.T, v *vpptest.VPP) {
	t.Helper()
	first := heartbeat(t, v)
	for range 600 {
		if heartbeat(t, v) >= first+2 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("/sys/heartbeat did not move in 30 s")
}

func heartbeat(t *testing.T, v *vpptest.VPP) float64 {
	t.Helper()
	out := v.MustGetStats(t, "dump", "^/sys/heartbeat$")
	f, _, _ := strings.Cut(strings.TrimSpace(out), " ")
	hb, err := strconv.ParseFloat(f, 64)
	require.NoError(t, err, out)
	return hb
}

// allMetrics switches on every metric but the catch-alls (which report the
// stats the others do not) and every error counter, zero or not.
func allMetrics(c *Config) {
	ms := reflect.ValueOf(&c.Metrics).Elem()
	for i := range ms.NumField() {
		name := ms.Type().Field(i).Tag.Get("mapstructure")
		ms.Field(i).FieldByName("Enabled").SetBool(!strings.HasPrefix(name, "vpp.stat."))
	}
	c.Errors.IncludeZero = true
}

// consistentScrape scrapes between two identical dumps by vpp_get_stats,
// so both saw the same state; it retries when VPP updated in between.
func consistentScrape(t *testing.T, v *vpptest.VPP, s *vppScraper) (*testutil.Dump, pmetric.Metrics) {
	t.Helper()
	for range 20 {
		before := v.MustGetStats(t, "dump")
		m, err := s.scrape(context.Background())
		require.NoError(t, err)
		if after := v.MustGetStats(t, "dump"); after == before {
			d, err := testutil.ParseDumpText(before)
			require.NoError(t, err)
			return d, m
		}
	}
	t.Fatal("VPP changed between the dumps around 20 scrapes")
	return nil, pmetric.Metrics{}
}

// wantPoints computes, from VPP's dump alone, every point the receiver
// must emit (README, Metrics), except the uptime (a clock reading).
func wantPoints(d *testutil.Dump) points {
	want := points{}
	add := func(metric string, v float64, kv ...string) {
		if want[metric] == nil {
			want[metric] = map[string]float64{}
		}
		want[metric][key(kv...)] = v
	}
	type ifRow struct {
		path   string
		field  int // 0 packets, 1 bytes (combined); -1 a simple counter
		metric string
		attrs  []string
	}
	var rows []ifRow
	for _, dir := range []struct{ short, long string }{{"rx", "receive"}, {"tx", "transmit"}} {
		io := []string{"network.io.direction", dir.long}
		rows = append(rows,
			ifRow{"/if/" + dir.short, 0, "vpp.interface.packets", io},
			ifRow{"/if/" + dir.short, 1, "vpp.interface.io", io},
			ifRow{"/if/" + dir.short + "-error", -1, "vpp.interface.errors", io})
		for _, cast := range []string{"unicast", "multicast", "broadcast"} {
			attrs := append([]string{"vpp.interface.cast", cast}, io...)
			rows = append(rows,
				ifRow{"/if/" + dir.short + "-" + cast, 0, "vpp.interface.cast.packets", attrs},
				ifRow{"/if/" + dir.short + "-" + cast, 1, "vpp.interface.cast.io", attrs})
		}
	}
	rows = append(rows,
		ifRow{"/if/drops", -1, "vpp.interface.drops", nil},
		ifRow{"/if/punt", -1, "vpp.interface.punts", nil},
		ifRow{"/if/rx-miss", -1, "vpp.interface.rx.missed", nil},
		ifRow{"/if/rx-no-buf", -1, "vpp.interface.rx.no_buffer", nil})
	for _, p := range []string{"ip4", "ip6", "mpls"} {
		rows = append(rows, ifRow{"/if/" + p, -1, "vpp.interface.protocol.packets", []string{"vpp.protocol", p}})
	}
	for _, r := range rows {
		var byIdx map[int]uint64
		if r.field < 0 {
			byIdx = d.SumSimple(r.path)
		} else {
			byIdx = d.SumCombined(r.path, r.field)
		}
		for idx, name := range d.Names["/if/names"] {
			if name == "" || name == "deleted" {
				continue
			}
			add(r.metric, float64(byIdx[idx]), append([]string{"network.interface.name", name, "vpp.interface.index", strconv.Itoa(idx)}, r.attrs...)...)
		}
	}
	// Nodes that have run (calls > 0); idle ones are left out by default
	// (nodes.include_idle).
	calls := d.SumSimple("/sys/node/calls")
	for _, ctr := range []string{"clocks", "vectors", "calls", "suspends"} {
		sums := d.SumSimple("/sys/node/" + ctr)
		for idx, name := range d.Names["/sys/node/names"] {
			if calls[idx] != 0 {
				add("vpp.node."+ctr, float64(sums[idx]), "vpp.node.name", name)
			}
		}
	}
	for name, cells := range d.Simple {
		if rest, ok := strings.CutPrefix(name, "/err/"); ok {
			var sum uint64
			for _, v := range cells {
				sum += v
			}
			node, reason, _ := strings.Cut(rest, "/")
			add("vpp.node.errors", float64(sum), "vpp.node.name", node, "vpp.error.reason", reason)
		}
		if rest, ok := strings.CutPrefix(name, "/mem/"); ok && strings.Contains(rest, "/") {
			i := strings.LastIndexByte(rest, '/')
			heap, state := rest[:i], rest[i+1:]
			if state == "total" {
				add("vpp.memory.heap.size", float64(cells[testutil.Cell{}]), "vpp.memory.heap.name", heap)
			} else {
				add("vpp.memory.heap.usage", float64(cells[testutil.Cell{}]), "vpp.memory.heap.name", heap, "vpp.memory.heap.state", state)
			}
		}
	}
	for name, v := range d.Scalars {
		if rest, ok := strings.CutPrefix(name, "/buffer-pools/"); ok {
			i := strings.LastIndexByte(rest, '/')
			add("vpp.buffer_pool.buffers", v, "vpp.buffer_pool.name", rest[:i], "vpp.buffer_pool.state", rest[i+1:])
		}
	}
	add("vpp.vector.rate", d.Scalars["/sys/vector_rate"])
	add("vpp.input.rate", d.Scalars["/sys/input_rate"])
	add("vpp.worker.count", d.Scalars["/sys/num_worker_threads"])
	for idx, v := range d.SumSimple("/sys/vector_rate_per_worker") {
		add("vpp.worker.vector.rate", float64(v), "vpp.thread.index", strconv.Itoa(idx))
	}
	for idx, v := range d.SumSimple("/sys/loops_per_worker") {
		add("vpp.worker.loop.rate", float64(v), "vpp.thread.index", strconv.Itoa(idx))
	}
	return want
}

// requireMatchesDump checks every point of m against d, metric by metric:
// the same series, the same values, and no metric that d does not explain.
func requireMatchesDump(t *testing.T, d *testutil.Dump, m pmetric.Metrics) int {
	t.Helper()
	want, got := wantPoints(d), indexPoints(m)
	values := 0
	for metric, pts := range want {
		require.Equal(t, pts, got[metric], metric)
		values += len(pts)
	}
	for metric := range got {
		if _, ok := want[metric]; !ok && metric != "vpp.uptime" {
			t.Errorf("%s emitted, but VPP's dump has nothing for it", metric)
		}
	}
	for _, metric := range []string{"vpp.interface.packets", "vpp.node.calls", "vpp.node.errors", "vpp.buffer_pool.buffers", "vpp.memory.heap.usage"} {
		require.NotEmpty(t, want[metric], "the dump has no %s: the comparison would prove nothing", metric)
	}
	return values
}

func TestVPPValuesEqualGetStats(t *testing.T) {
	t.Parallel()
	v := vpptest.Start(t, vpptest.Options{UpdateInterval: time.Second})
	s := newVPPScraper(t, v, allMetrics)
	runTraffic(t, v)
	waitUpdate(t, v)
	d, m := consistentScrape(t, v, s)
	n := requireMatchesDump(t, d, m)
	// Something did happen: loop0 received both streams.
	got := indexPoints(m)
	assert.Equal(t, 5300.0, got["vpp.interface.packets"][ifKey(1, "loop0", "receive")])
	t.Logf("%d values equal to vpp_get_stats", n)
}

// TestVPPChurn creates, brings up, sub-interfaces and deletes a loopback
// 500 times while scraping every 100 ms: no scrape fails, the final state
// equals VPP's dump, and the receiver's heap does not grow.
func TestVPPChurn(t *testing.T) {
	t.Parallel()
	const rounds = 500
	v := vpptest.Start(t, vpptest.Options{UpdateInterval: time.Second})
	_, err := v.ExecLines("create loopback interface", "set interface state loop0 up")
	require.NoError(t, err)
	s := newVPPScraper(t, v, allMetrics)

	var (
		mu          sync.Mutex
		scrapes     int
		errs        []error
		heapWarm    uint64
		heapAtClose uint64
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the only goroutine that uses s until done
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				heapAtClose = heapInUse()
				return
			case <-tick.C:
			}
			_, err := s.scrape(context.Background())
			mu.Lock()
			scrapes++
			if err != nil {
				errs = append(errs, err)
			}
			if scrapes == 20 {
				heapWarm = heapInUse()
			}
			mu.Unlock()
		}
	}()
	for i := range rounds {
		_, err := v.ExecLines(
			"create loopback interface",
			"set interface state loop1 up",
			"create sub-interfaces loop1 7",
			"set interface state loop1.7 up",
			"delete sub-interface loop1.7",
			"delete loopback interface intfc loop1")
		require.NoError(t, err, "round %d", i)
		time.Sleep(10 * time.Millisecond) // so that the scrapes see many states
	}
	close(stop)
	<-done
	require.Empty(t, errs, "scrape errors during churn")
	require.Greater(t, scrapes, 20, "too few scrapes to tell anything")
	t.Logf("%d rounds, %d scrapes; receiver heap in use %d KiB after 20 scrapes, %d KiB at the end", rounds, scrapes, heapWarm>>10, heapAtClose>>10)
	assert.Less(t, heapAtClose, heapWarm+heapWarm/2+(1<<20), "the receiver's heap grew with churn")

	waitUpdate(t, v)
	d, m := consistentScrape(t, v, s)
	requireMatchesDump(t, d, m)
	for k := range dataPoints(m, "vpp.interface.packets") {
		require.NotContains(t, k, "loop1", "a deleted interface is still reported")
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestVPPClear: after `clear interfaces`, `clear runtime` and `clear errors`
// the values are VPP's again; interface series restart at the previous
// scrape, node series at the time VPP recorded in /sys/last_stats_clear.
// `clear errors` leaves the segment's /err counters as they are (VPP
// subtracts a copy taken at the clear in `show errors` only), so error
// series go on.
//
// The node start times need the emission fix of issue 10 item 4 (the "core"
// branch): before it, node series restart at the previous scrape.
func TestVPPClear(t *testing.T) {
	t.Parallel()
	v := vpptest.Start(t, vpptest.Options{UpdateInterval: time.Second})
	s := newVPPScraper(t, v, allMetrics)
	runTraffic(t, v)
	waitUpdate(t, v)
	_, m1 := consistentScrape(t, v, s)
	scraped := tsOf(t, m1)
	before := indexPoints(m1)
	require.NotZero(t, before["vpp.interface.packets"][ifKey(2, "loop1", "transmit")])

	_, err := v.ExecLines("clear interfaces", "clear runtime", "clear errors")
	require.NoError(t, err)
	waitUpdate(t, v)
	d, m2 := consistentScrape(t, v, s)
	requireMatchesDump(t, d, m2)

	lastClear := d.Scalars["/sys/last_stats_clear"]
	require.NotZero(t, lastClear, "clear runtime records its time")
	clearedAt := time.Unix(0, int64((d.Scalars["/sys/boottime"]+lastClear)*1e9))
	t.Logf("/sys/boottime %.2f, /sys/last_stats_clear %.2f: cleared at %v; previous scrape at %v", d.Scalars["/sys/boottime"], lastClear, clearedAt, scraped)
	for _, c := range []struct {
		metric string
		start  time.Time
	}{
		{"vpp.interface.packets", scraped},
		{"vpp.node.calls", clearedAt},
	} {
		restarted := 0
		for k, p := range dataPoints(m2, c.metric) {
			if float64(p.IntValue()) < before[c.metric][k] {
				restarted++
				assert.Equal(t, c.start.UnixNano(), p.StartTimestamp().AsTime().UnixNano(), "%s %s", c.metric, k)
			}
		}
		assert.Positive(t, restarted, "%s: no series went backwards", c.metric)
	}
	errs := 0
	for k, p := range dataPoints(m2, "vpp.node.errors") {
		if b := before["vpp.node.errors"][k]; b > 0 {
			errs++
			assert.Equal(t, b, float64(p.IntValue()), "%s: clear errors changed the segment", k)
		}
	}
	assert.Positive(t, errs, "no error counted before the clear")
}

// tsOf is the time of the points of a scrape.
func tsOf(t *testing.T, m pmetric.Metrics) time.Time {
	t.Helper()
	for _, p := range dataPoints(m, "vpp.interface.packets") {
		return p.Timestamp().AsTime()
	}
	t.Fatal("no vpp.interface.packets")
	return time.Time{}
}
