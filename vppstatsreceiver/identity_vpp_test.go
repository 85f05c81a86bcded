//go:build vpp

package vppstatsreceiver

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vppstats/vppstats/internal/vpptest"
)

// Interface state against a real VPP v26.06: the stats socket and the
// binary API socket of the same VPP.

func newRealScraper(t *testing.T, v *vpptest.VPP, apiSocket string) *vppScraper {
	t.Helper()
	s := newTestScraper(t, v.StatsSocket(), func(c *Config) {
		c.APISocketPath = apiSocket
	})
	s.now = time.Now
	return s
}

// statePoint returns the named interface's point of a state metric.
func statePoint(md pmetric.Metrics, metric, ifName string) (pmetric.NumberDataPoint, bool) {
	for _, dp := range dataPoints(md, metric) {
		if v, ok := dp.Attributes().Get("network.interface.name"); ok && v.Str() == ifName {
			return dp, true
		}
	}
	return pmetric.NumberDataPoint{}, false
}

// scrapeUntil scrapes until ok holds for the metrics. The API client
// follows VPP on its own goroutine, so a change shows at the next scrape
// after VPP's event arrived; the bound (20 s) only fails a hang.
func scrapeUntil(t *testing.T, s *vppScraper, what string, ok func(pmetric.Metrics) bool) pmetric.Metrics {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		md, err := s.scrape(context.Background())
		if err == nil && ok(md) {
			return md
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw %s (last scrape error: %v)", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func adminUp(ifName string, want int64) func(pmetric.Metrics) bool {
	return func(md pmetric.Metrics) bool {
		dp, ok := statePoint(md, "vpp.interface.admin.up", ifName)
		return ok && dp.IntValue() == want
	}
}

func TestVPPInterfaceState(t *testing.T) {
	v := vpptest.Start(t, vpptest.Options{})
	v.MustCLI(t, "create loopback interface")
	v.MustCLI(t, "create sub-interfaces loop0 100")
	s := newRealScraper(t, v, v.APISocket())

	md := scrapeUntil(t, s, "loop0 down", adminUp("loop0", 0))
	dp, _ := statePoint(md, "vpp.interface.admin.up", "loop0")
	attrs := dp.Attributes().AsRaw()
	assert.Equal(t, "Loopback", attrs["vpp.interface.driver"])
	assert.Regexp(t, `^DE-AD-00-00-00-00$`, attrs["hw.network.physical_address"])
	sub, ok := statePoint(md, "vpp.interface.admin.up", "loop0.100")
	require.True(t, ok)
	assert.Equal(t, "loop0", sub.Attributes().AsRaw()["vpp.interface.parent.name"])
	assert.Equal(t, int64(100), sub.Attributes().AsRaw()["vpp.interface.sub_id"])
	// The counters of the same interface join on the index.
	idx := attrs["vpp.interface.index"]
	found := false
	for _, p := range dataPoints(md, "vpp.interface.packets") {
		if p.Attributes().AsRaw()["vpp.interface.index"] == idx {
			found = true
			assert.NotContains(t, p.Attributes().AsRaw(), "vpp.interface.driver")
		}
	}
	assert.True(t, found, "loop0's counters")

	// Admin state: VPP's event, no directory change.
	v.MustCLI(t, "set interface state loop0 up")
	scrapeUntil(t, s, "loop0 up", adminUp("loop0", 1))
	v.MustCLI(t, "set interface state loop0 down")
	scrapeUntil(t, s, "loop0 down again", adminUp("loop0", 0))

	// A tag (no event) shows when the directory changes: a new interface.
	v.MustCLI(t, "set interface tag loop0 uplink-a")
	v.MustCLI(t, "create loopback interface")
	scrapeUntil(t, s, "loop0's tag and loop1", func(md pmetric.Metrics) bool {
		dp, ok := statePoint(md, "vpp.interface.admin.up", "loop0")
		_, ok1 := statePoint(md, "vpp.interface.admin.up", "loop1")
		return ok && ok1 && dp.Attributes().AsRaw()["vpp.interface.tag"] == "uplink-a"
	})

	// A deleted interface disappears.
	v.MustCLI(t, "delete loopback interface intfc loop1")
	scrapeUntil(t, s, "loop1 gone", func(md pmetric.Metrics) bool {
		_, ok := statePoint(md, "vpp.interface.admin.up", "loop1")
		_, ok0 := statePoint(md, "vpp.interface.admin.up", "loop0")
		return !ok && ok0
	})

	// A restarted VPP is followed on both sockets.
	require.NoError(t, v.Restart())
	v.MustCLI(t, "create loopback interface")
	v.MustCLI(t, "set interface state loop0 up")
	scrapeUntil(t, s, "loop0 of the restarted VPP, up, without the old tag", func(md pmetric.Metrics) bool {
		dp, ok := statePoint(md, "vpp.interface.admin.up", "loop0")
		_, sub := statePoint(md, "vpp.interface.admin.up", "loop0.100")
		return ok && dp.IntValue() == 1 && !sub && dp.Attributes().AsRaw()["vpp.interface.tag"] == nil &&
			len(dataPoints(md, "vpp.interface.packets")) > 0
	})
}

func TestVPPMissingOrRefusingAPISocketLeavesCountersFlowing(t *testing.T) {
	v := vpptest.Start(t, vpptest.Options{})
	v.MustCLI(t, "create loopback interface")
	dir := t.TempDir()
	refusing := filepath.Join(dir, "refusing.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: refusing, Net: "unix"})
	require.NoError(t, err)
	l.SetUnlinkOnClose(false)
	require.NoError(t, l.Close())

	for _, api := range []string{filepath.Join(dir, "missing.sock"), refusing} {
		s := newRealScraper(t, v, api)
		for range 5 {
			md, err := s.scrape(context.Background())
			require.NoError(t, err, api)
			assert.NotEmpty(t, dataPoints(md, "vpp.interface.packets"), api)
			for _, m := range stateMetrics {
				assert.Empty(t, dataPoints(md, m), "%s: %s", api, m)
			}
		}
	}
}
