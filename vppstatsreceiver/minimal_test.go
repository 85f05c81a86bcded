package vppstatsreceiver

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/scraper/scrapererror"

	"github.com/vppstats/vppstats/internal/segwriter"
)

// minimalVPP is a segment with two interfaces (local0, eth0) and only
// /if/rx, in which eth0 received 10 packets on thread 1.
func minimalVPP(t *testing.T) *segwriter.Writer {
	t.Helper()
	w, err := segwriter.NewWriter(segwriter.WriterOptions{Size: 1 << 20, Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	_, err = w.AddNameVector("/if/names", []string{"local0", "eth0"})
	require.NoError(t, err)
	rx, err := w.AddCombinedCounter("/if/rx", 2)
	require.NoError(t, err)
	rx.Add(1, 1, 10, 640)
	return w
}

// serveWriter serves w's segment on a new stats socket.
func serveWriter(t *testing.T, w *segwriter.Writer) string {
	t.Helper()
	sock := socketPath(t)
	srv, err := segwriter.NewServer(sock, w.Fd())
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

// TestMinimalSegment scrapes a VPP that publishes little: no per-node
// counters (`per-node-counters` is off by default), no buffer pools, no
// heaps, no /sys/boottime. Interface counters still come out, with the
// first scrape's time standing in for the unknown boot time, and nothing
// else is invented.
func TestMinimalSegment(t *testing.T) {
	w := minimalVPP(t)
	hb, err := w.AddScalar("/sys/heartbeat")
	require.NoError(t, err)
	hb.Set(1)

	s := newTestScraper(t, serveWriter(t, w), nil)
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	pts := dataPoints(md, "vpp.interface.packets")
	require.Len(t, pts, 2, "local0 and eth0, receive")
	for _, dp := range pts {
		name, _ := dp.Attributes().Get("network.interface.name")
		want := int64(0)
		if name.Str() == "eth0" {
			want = 10
		}
		require.Equal(t, want, dp.IntValue(), name.Str())
		require.NotZero(t, dp.StartTimestamp(), "start time")
		require.LessOrEqual(t, dp.StartTimestamp(), dp.Timestamp())
	}
	for _, m := range []string{"vpp.node.calls", "vpp.buffer_pool.buffers", "vpp.memory.heap.usage", "vpp.uptime", "vpp.interface.drops"} {
		require.Empty(t, dataPoints(md, m), m)
	}
}

// TestCorruptEntryIsPartial: an entry whose pointer leads out of the
// segment is left out with an error naming it; the rest is still emitted.
func TestCorruptEntryIsPartial(t *testing.T) {
	w := minimalVPP(t)
	tx, err := w.AddCombinedCounter("/if/tx", 2)
	require.NoError(t, err)
	// Point /if/tx's union far outside the segment, as a corrupt segment
	// would (header word 4 is the directory; entries are 144 bytes, the
	// union at offset 8).
	mem := w.Mem()
	dir := binary.LittleEndian.Uint64(mem[32:]) - w.Base()
	binary.LittleEndian.PutUint64(mem[dir+uint64(tx.Index())*144+8:], w.Base()+1<<40)

	s := newTestScraper(t, serveWriter(t, w), nil)
	md, err := s.scrape(context.Background())
	require.Error(t, err)
	require.True(t, scrapererror.IsPartialScrapeError(err), "want a partial scrape error, got %v", err)
	require.ErrorContains(t, err, `"/if/tx"`)
	pts := dataPoints(md, "vpp.interface.packets")
	require.Len(t, pts, 2, "the receive points of /if/rx are still there")
}

// TestReconnectsAsSoonAsVPPIsBack: while VPP is away the receiver backs
// off, but a new stats socket ends the wait at the next scrape.
func TestReconnectsAsSoonAsVPPIsBack(t *testing.T) {
	sock := socketPath(t)
	s := newTestScraper(t, sock, nil)
	clock := time.Now()
	s.now = func() time.Time { return clock }
	for range 4 { // VPP away: 1 s, 2 s, 4 s, 8 s of backoff
		_, err := s.scrape(context.Background())
		require.ErrorContains(t, err, "does not exist")
		clock = s.retryAt
	}
	_, err := s.scrape(context.Background())
	require.ErrorContains(t, err, "does not exist")
	require.Greater(t, s.retryAt.Sub(clock), 10*time.Second)

	srv, err := segwriter.ServeFile(sock, capturePath("v26.06", "a"))
	require.NoError(t, err)
	defer srv.Close()
	clock = clock.Add(time.Second) // well before the backoff ends
	md, err := s.scrape(context.Background())
	require.NoError(t, err, "the receiver waited out its backoff although VPP was back")
	require.NotEmpty(t, dataPoints(md, "vpp.interface.packets"))
}

// TestFrozenSegmentStaysStale: after a stale error the receiver reconnects;
// if it is handed the same frozen segment again, that is still stale, and
// nothing is exported from it.
func TestFrozenSegmentStaysStale(t *testing.T) {
	sock := socketPath(t)
	srv, err := segwriter.ServeFile(sock, capturePath("v25.10", "a"))
	require.NoError(t, err)
	defer srv.Close()
	s := newTestScraper(t, sock, func(c *Config) { c.StaleAfter = 30 * time.Second })
	clock := time.Now()
	s.now = func() time.Time { return clock }
	_, err = s.scrape(context.Background())
	require.NoError(t, err)
	clock = clock.Add(31 * time.Second)
	_, err = s.scrape(context.Background())
	require.ErrorContains(t, err, "VPP stats are stale")
	clock = clock.Add(10 * time.Second)
	md, err := s.scrape(context.Background()) // reconnects: same frozen segment
	require.ErrorContains(t, err, "VPP stats are stale")
	require.Zero(t, md.DataPointCount(), "frozen values exported after reconnecting")
}
