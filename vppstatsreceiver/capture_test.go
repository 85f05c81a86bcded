package vppstatsreceiver

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the captures")

// The captures in the repository, and VPP's own dumps beside them.
var captures = []struct{ version, name string }{
	{"v25.10", "a"}, {"v25.10", "b"}, {"v25.10", "c-cleared"},
	{"v26.06", "a"}, {"v26.06", "b"}, {"v26.06", "c-cleared"},
}

func capturePath(version, name string) string {
	return filepath.Join("..", "testdata", "vpp", version, name+".seg.gz")
}

// captureNow is the fixed scrape time of capture tests (after both VPPs
// booted), so that vpp.uptime and timestamps are reproducible.
var captureNow = time.Unix(1795480000, 0)

// newCaptureScraper returns a started scraper reading the segment files in
// paths, one per connection (the last one repeats), with cfg changed by
// mutate. The segments are opened in memory (statseg.OpenFile); see
// newServedCaptureScraper for the same through a real stats socket.
func newCaptureScraper(t testing.TB, mutate func(*Config), paths ...string) *vppScraper {
	t.Helper()
	s := newTestScraper(t, statseg.DefaultSocketPath, mutate)
	readers := make([]*statseg.Reader, len(paths))
	for i, p := range paths {
		var err error
		readers[i], err = statseg.OpenFile(p)
		require.NoError(t, err)
	}
	next := 0
	s.open = func(time.Duration) (*statseg.Reader, error) {
		r := readers[min(next, len(readers)-1)]
		next++
		return r, nil
	}
	return s
}

// newServedCaptureScraper serves the capture on a real stats socket
// (segwriter.ServeFile, as VPP hands out its memfd) and returns a started
// scraper of it using the receiver's own connect path.
func newServedCaptureScraper(t testing.TB, mutate func(*Config), path string) *vppScraper {
	t.Helper()
	sock := socketPath(t)
	srv, err := segwriter.ServeFile(sock, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return newTestScraper(t, sock, mutate)
}

// newTestScraper returns a started scraper of socket with a fixed clock
// (captureNow) and no staleness check unless mutate sets one.
func newTestScraper(t testing.TB, socket string, mutate func(*Config)) *vppScraper {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.SocketPath = socket
	cfg.StaleAfter = 0 // captures do not beat
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	s, err := newScraper(cfg, receivertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	s.now = func() time.Time { return captureNow }
	require.NoError(t, s.start(context.Background(), nil))
	t.Cleanup(func() { require.NoError(t, s.shutdown(context.Background())) })
	return s
}

// socketPath returns a fresh socket path short enough for sun_path.
func socketPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vppstats")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "stats.sock")
}

func TestScrapeCapturesGolden(t *testing.T) {
	for _, c := range captures {
		t.Run(c.version+"/"+c.name, func(t *testing.T) {
			s := newServedCaptureScraper(t, nil, capturePath(c.version, c.name))
			got, err := s.scrape(context.Background())
			require.NoError(t, err)
			sock, ok := got.ResourceMetrics().At(0).Resource().Attributes().Get("vpp.stats.socket")
			require.True(t, ok)
			require.Equal(t, s.cfg.SocketPath, sock.Str())
			// The socket is a temporary file: record the default path.
			got.ResourceMetrics().At(0).Resource().Attributes().PutStr("vpp.stats.socket", statseg.DefaultSocketPath)
			expectedFile := filepath.Join("testdata", "golden", c.version+"-"+c.name+".yaml")
			if *update {
				// Timestamps are kept: the scrape time is fixed and start
				// times (VPP's boot time) are part of what is reviewed.
				require.NoError(t, golden.WriteMetricsToFile(expectedFile, got, golden.SkipMetricTimestampNormalization()))
			}
			want, err := golden.ReadMetrics(expectedFile)
			require.NoError(t, err)
			require.NoError(t, pmetrictest.CompareMetrics(want, got,
				pmetrictest.IgnoreMetricDataPointsOrder(),
				pmetrictest.IgnoreMetricsOrder()))
		})
	}
}

// metricByName returns the metric named name in m.
func metricByName(t testing.TB, m pmetric.Metrics, name string) pmetric.Metric {
	t.Helper()
	for i := range m.ResourceMetrics().Len() {
		sms := m.ResourceMetrics().At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				if ms.At(k).Name() == name {
					return ms.At(k)
				}
			}
		}
	}
	t.Fatalf("metric %s not emitted", name)
	return pmetric.Metric{}
}

// TestPerThreadOnlyRealThreads: VPP's node counter vectors carry one thread
// row more than VPP has threads (always zero); per_thread must not report
// that thread. The v26.06 capture has threads 0 and 1, node rows 0 to 2.
func TestPerThreadOnlyRealThreads(t *testing.T) {
	s := newServedCaptureScraper(t, func(c *Config) { c.PerThread = true }, capturePath("v26.06", "a"))
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	for _, name := range []string{"vpp.node.clocks", "vpp.node.calls", "vpp.interface.packets"} {
		threads := map[int64]bool{}
		for _, dp := range dataPoints(md, name) {
			th, ok := dp.Attributes().Get("vpp.thread.index")
			require.True(t, ok, "%s without vpp.thread.index in per_thread mode", name)
			threads[th.Int()] = true
		}
		require.Equal(t, map[int64]bool{0: true, 1: true}, threads, name)
	}
}
