package vppstatsreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/vppsim"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadatatest"
)

// TestSelfTelemetry: the receiver's own instruments, read back through the
// collector's telemetry: a scrape of a segment with one unreadable entry,
// then a directory change.
func TestSelfTelemetry(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })

	w := testVPP(t)
	errs, ok := dirOf(t, w).Lookup(pathNodeErrors)
	require.True(t, ok)
	_, err := w.AddSymlink("/err/evil/far away", uint32(errs.Index), 5_000_000)
	require.NoError(t, err)

	cfg := createDefaultConfig().(*Config)
	cfg.SocketPath = serveWriter(t, w)
	cfg.StaleAfter = 0
	s, err := newScraper(cfg, metadatatest.NewSettings(tt))
	require.NoError(t, err)
	s.now = func() time.Time { return captureNow }
	require.NoError(t, s.start(context.Background(), nil))
	t.Cleanup(func() { require.NoError(t, s.shutdown(context.Background())) })

	_, err = s.scrape(context.Background())
	require.Error(t, err)
	metadatatest.AssertEqualVppstatsUnreadableEntries(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	_, err = tt.GetMetric("otelcol_vppstats_epoch_changes")
	require.Error(t, err, "no directory change yet")

	_, err = w.AddSimpleCounter("/if/rx-miss", 3) // bumps the epoch
	require.NoError(t, err)
	_, err = s.scrape(context.Background())
	require.Error(t, err)
	metadatatest.AssertEqualVppstatsEpochChanges(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())

	m, err := tt.GetMetric("otelcol_vppstats_scrape_duration")
	require.NoError(t, err)
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok)
	require.Len(t, h.DataPoints, 1)
	require.Equal(t, uint64(2), h.DataPoints[0].Count, "one duration per scrape")
}

// TestSelfTelemetryAcrossARestart: VPP goes away for three scrapes 10 s
// apart and comes back: 30 s counted without a usable VPP, one reconnect.
func TestSelfTelemetryAcrossARestart(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	l := newLive(t, vppsim.Options{Interfaces: 2}, nil)
	tb, err := metadata.NewTelemetryBuilder(metadatatest.NewSettings(tt).TelemetrySettings)
	require.NoError(t, err)
	l.s.tel.tb = tb

	l.mustScrape(0)
	require.NoError(t, l.srv.Close())
	for range 3 {
		l.mustScrapeNothing(10 * time.Second)
	}
	l.srv, err = segwriter.NewServer(l.sock, l.newSim(vppsim.Options{Interfaces: 2}).Writer().Fd())
	require.NoError(t, err)
	l.mustScrape(10 * time.Second)

	metadatatest.AssertEqualVppstatsReconnects(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualVppstatsDisconnectedTime(t, tt, []metricdata.DataPoint[float64]{{Value: 30}}, metricdatatest.IgnoreTimestamp())
	_, err = tt.GetMetric("otelcol_vppstats_stale_time")
	require.Error(t, err, "VPP was gone, never silent")
}
