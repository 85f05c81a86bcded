package vppstatsreceiver

import (
	"context"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

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
// paths, one per scrape (the last one repeats), with cfg changed by mutate.
func newCaptureScraper(t testing.TB, mutate func(*Config), paths ...string) *vppScraper {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.StaleAfter = 0 // captures do not beat
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	s, err := newScraper(cfg, receivertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	s.watchSocket = false
	s.now = func() time.Time { return captureNow }
	readers := make([]*statseg.Reader, len(paths))
	for i, p := range paths {
		readers[i], err = statseg.OpenFile(p)
		require.NoError(t, err)
	}
	next := 0
	s.open = func(time.Duration) (*statseg.Reader, error) {
		r := readers[min(next, len(readers)-1)]
		next++
		return r, nil
	}
	require.NoError(t, s.start(context.Background(), nil))
	t.Cleanup(func() { require.NoError(t, s.shutdown(context.Background())) })
	return s
}

func TestScrapeCapturesGolden(t *testing.T) {
	for _, c := range captures {
		t.Run(c.version+"/"+c.name, func(t *testing.T) {
			s := newCaptureScraper(t, nil, capturePath(c.version, c.name))
			got, err := s.scrape(context.Background())
			require.NoError(t, err)
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
