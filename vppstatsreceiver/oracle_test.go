package vppstatsreceiver

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vppstats/vppstats/internal/testutil"
)

// captureDump is VPP's own dump of a capture.
func captureDump(t *testing.T, version, name string) *testutil.Dump {
	return testutil.ReadDump(t, testutil.DumpPath(capturePath(version, name)))
}

// points indexes the emitted points: metric → "k=v,k=v" (sorted) → value.
type points map[string]map[string]float64

func indexPoints(m pmetric.Metrics) points {
	out := points{}
	for _, p := range testutil.Points(m) {
		if out[p.Metric] == nil {
			out[p.Metric] = map[string]float64{}
		}
		k := p.Key()
		if _, dup := out[p.Metric][k]; dup {
			panic("duplicate point " + p.Metric + " " + k)
		}
		out[p.Metric][k] = p.Value()
	}
	return out
}

// The series keys of the points, as indexPoints writes them.
var (
	attrKey = testutil.AttrKey
	key     = testutil.Key
)

// TestScrapeMatchesVPPDump checks every emitted counter and gauge against
// values computed independently from VPP's own dump of the same segment.
func TestScrapeMatchesVPPDump(t *testing.T) {
	for _, c := range captures {
		t.Run(c.version+"/"+c.name, func(t *testing.T) {
			d := captureDump(t, c.version, c.name)
			// Every metric on, the opt-in breakdowns too.
			s := newServedCaptureScraper(t, enableAllMetrics, capturePath(c.version, c.name))
			m, err := s.scrape(context.Background())
			require.NoError(t, err)
			got := indexPoints(m)

			// One value spelled out: loop0 (index 1) received packets,
			// summed over main and worker.
			var loop0rx uint64
			for k, v := range d.Combined["/if/rx"] {
				if k.Index == 1 {
					loop0rx += v[0]
				}
			}
			require.NotZero(t, loop0rx)
			require.Equal(t, "loop0", d.Names["/if/names"][1])
			require.Equal(t, float64(loop0rx), got["vpp.interface.packets"][key("network.interface.name", "loop0", "vpp.interface.index", "1", "network.io.direction", "receive")])

			// Interfaces: every counter of every live interface; nothing for
			// the deleted slot.
			ifNames := d.Names["/if/names"]
			require.Equal(t, "deleted", ifNames[5])
			live := 0
			check := func(metric string, fixed []attr, byIdx map[int]uint64) {
				t.Helper()
				for idx, name := range ifNames {
					kv := []string{"network.interface.name", name, "vpp.interface.index", strconv.Itoa(idx)}
					for _, f := range fixed {
						kv = append(kv, f.key, f.val)
					}
					v, ok := got[metric][key(kv...)]
					if name == "deleted" {
						require.False(t, ok, "%s emitted for deleted slot %d", metric, idx)
						continue
					}
					require.True(t, ok, "%s %v missing", metric, kv)
					require.Equal(t, float64(byIdx[idx]), v, "%s %v", metric, kv)
				}
			}
			for _, m := range meanings {
				if m.cols != famInterface || m.use != useMetric {
					continue
				}
				if m.shape == shapeCombined {
					check(m.fields[0].metric.Name(), m.fields[0].fixed, d.SumCombined(m.path, 0))
					check(m.fields[1].metric.Name(), m.fields[1].fixed, d.SumCombined(m.path, 1))
				} else {
					check(m.fields[0].metric.Name(), m.fields[0].fixed, d.SumSimple(m.path))
				}
			}
			for _, n := range ifNames {
				if n != "deleted" {
					live++
				}
			}
			require.Len(t, got["vpp.interface.drops"], live)
			require.Len(t, got["vpp.interface.packets"], 2*live)

			// Nodes: the four counters summed over all rows (including the
			// extra one), of the nodes that have run (calls > 0) by
			// default, of every node with nodes.include_idle.
			nodes := d.Names["/sys/node/names"]
			require.NotEmpty(t, nodes)
			calls := d.SumSimple("/sys/node/calls")
			withIdle := newServedCaptureScraper(t, func(c *Config) {
				enableAllMetrics(c)
				c.Nodes.IncludeIdle = true
			}, capturePath(c.version, c.name))
			mIdle, err := withIdle.scrape(context.Background())
			require.NoError(t, err)
			for _, includeIdle := range []bool{false, true} {
				pts := got
				if includeIdle {
					pts = indexPoints(mIdle)
				}
				for _, ctr := range []string{"clocks", "vectors", "calls", "suspends"} {
					sums := d.SumSimple("/sys/node/" + ctr)
					reported := 0
					for idx, name := range nodes {
						v, ok := pts["vpp.node."+ctr][key("vpp.node.name", name)]
						if calls[idx] == 0 && !includeIdle {
							require.False(t, ok, "vpp.node.%s of idle node %s", ctr, name)
							continue
						}
						reported++
						require.True(t, ok, "vpp.node.%s %s missing (include_idle %v)", ctr, name, includeIdle)
						require.Equal(t, float64(sums[idx]), v, "vpp.node.%s %s", ctr, name)
					}
					require.Len(t, pts["vpp.node."+ctr], reported)
					if !includeIdle {
						require.NotZero(t, reported, "no node has run")
						require.Less(t, reported, len(nodes), "no node is idle: the capture does not test the rule")
					}
				}
			}

			// Errors: the dump prints each /err/<node>/<reason> symlink; the
			// non-zero ones are exactly the emitted points.
			wantErrs := map[string]float64{}
			for name, cells := range d.Simple {
				rest, ok := strings.CutPrefix(name, "/err/")
				if !ok {
					continue
				}
				var sum uint64
				for _, v := range cells {
					sum += v
				}
				if sum == 0 {
					continue
				}
				node, reason, _ := strings.Cut(rest, "/")
				wantErrs[key("vpp.node.name", node, "vpp.error.reason", reason)] = float64(sum)
			}
			require.NotEmpty(t, wantErrs)
			require.Equal(t, wantErrs, got["vpp.node.errors"])

			// System gauges.
			require.Equal(t, d.Scalars["/sys/vector_rate"], got["vpp.vector.rate"][""])
			require.Equal(t, d.Scalars["/sys/input_rate"], got["vpp.input.rate"][""])
			require.Equal(t, d.Scalars["/sys/num_worker_threads"], got["vpp.worker.count"][""])
			require.Equal(t, float64(captureNow.Unix())-d.Scalars["/sys/boottime"], got["vpp.uptime"][""])
			for idx, v := range d.SumSimple("/sys/vector_rate_per_worker") {
				require.Equal(t, float64(v), got["vpp.worker.vector.rate"][key("vpp.thread.index", strconv.Itoa(idx))])
			}
			for idx, v := range d.SumSimple("/sys/loops_per_worker") {
				require.Equal(t, float64(v), got["vpp.worker.loop.rate"][key("vpp.thread.index", strconv.Itoa(idx))])
			}
			require.Len(t, got["vpp.worker.loop.rate"], 2) // main + 1 worker

			// Buffer pools and memory heaps.
			pools := 0
			for name, v := range d.Scalars {
				rest, ok := strings.CutPrefix(name, "/buffer-pools/")
				if !ok {
					continue
				}
				pools++
				i := strings.LastIndexByte(rest, '/')
				require.Equal(t, v, got["vpp.buffer_pool.buffers"][key("vpp.buffer_pool.name", rest[:i], "vpp.buffer_pool.state", rest[i+1:])], name)
			}
			require.Equal(t, 3, pools)
			require.Len(t, got["vpp.buffer_pool.buffers"], pools)
			heaps := 0
			for name, cells := range d.Simple {
				rest, ok := strings.CutPrefix(name, "/mem/")
				if !ok || len(cells) != 1 || !strings.Contains(rest, "/") {
					continue
				}
				i := strings.LastIndexByte(rest, '/')
				heap, state := rest[:i], rest[i+1:]
				v := float64(cells[testutil.Cell{}])
				if state == "total" {
					heaps++
					require.Equal(t, v, got["vpp.memory.heap.size"][key("vpp.memory.heap.name", heap)], name)
				} else {
					require.Equal(t, v, got["vpp.memory.heap.usage"][key("vpp.memory.heap.name", heap, "vpp.memory.heap.state", state)], name)
				}
			}
			require.Equal(t, 2, heaps) // main heap, stat segment
			require.Len(t, got["vpp.memory.heap.size"], heaps)

			// The catch-all stays off: it has its own test below.
			require.NotContains(t, got, "vpp.stat.counter")
			require.NotContains(t, got, "vpp.stat.gauge")
		})
	}
}

// TestCatchAllMatchesVPPDump enables vpp.stat.counter and vpp.stat.gauge on
// a few paths and checks them against VPP's dump.
func TestCatchAllMatchesVPPDump(t *testing.T) {
	d := captureDump(t, "v26.06", "a")
	for _, perThread := range []bool{false, true} {
		s := newServedCaptureScraper(t, func(c *Config) {
			c.Metrics.VppStatCounter.Enabled = true
			c.Metrics.VppStatGauge.Enabled = true
			c.PerThread = perThread
			c.Stats.Include = []string{`^/net/route/to$`, `^/net/arp/`, `^/sys/`, `^/if/`}
			c.Stats.Exclude = []string{`/tx/`}
		}, capturePath("v26.06", "a"))
		m, err := s.scrape(context.Background())
		require.NoError(t, err)
		got := indexPoints(m)

		want := map[string]float64{}
		for name, cells := range d.Combined {
			if name != "/net/route/to" {
				continue
			}
			for k, v := range cells {
				for f, field := range []string{"packets", "bytes"} {
					kv := []string{"vpp.stat.name", name, "vpp.stat.index", strconv.Itoa(k.Index), "vpp.stat.field", field}
					if perThread {
						kv = append(kv, "vpp.thread.index", strconv.Itoa(k.Thread))
					}
					want[key(kv...)] += float64(v[f])
				}
			}
		}
		for name, cells := range d.Simple {
			if !strings.HasPrefix(name, "/net/arp/") || strings.Contains(name, "/tx/") {
				continue
			}
			for k, v := range cells {
				kv := []string{"vpp.stat.name", name, "vpp.stat.index", strconv.Itoa(k.Index)}
				if perThread {
					kv = append(kv, "vpp.thread.index", strconv.Itoa(k.Thread))
				}
				want[key(kv...)] += float64(v)
			}
		}
		require.NotEmpty(t, want)
		require.Equal(t, want, got["vpp.stat.counter"], "per_thread=%v", perThread)

		// Gauges: the /sys scalars no dedicated metric reports.
		wantG := map[string]float64{}
		for _, n := range []string{"/sys/heartbeat", "/sys/last_stats_clear", "/sys/last_update"} {
			wantG[key("vpp.stat.name", n)] = d.Scalars[n]
		}
		require.Equal(t, wantG, got["vpp.stat.gauge"])
	}
}

// enableAllMetrics switches on every metric but the catch-all, which
// TestCatchAllMatchesVPPDump checks with a selection of paths.
func enableAllMetrics(c *Config) {
	ms := reflect.ValueOf(&c.Metrics).Elem()
	for i := range ms.NumField() {
		ms.Field(i).FieldByName("Enabled").SetBool(true)
	}
	c.Metrics.VppStatCounter.Enabled = false
	c.Metrics.VppStatGauge.Enabled = false
}
