//go:build vpp

package vppstatsreceiver

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vppstats/vppstats/internal/vpptest"
)

// Liveness with a real VPP v26.06: restarts by every signal on a disk
// filesystem and on tmpfs, a VPP down for 30 s, a stopped (hung) VPP, and
// update intervals of 1 s and 60 s. Each test runs its own VPP, in
// parallel with the others.

// vppScraper returns a scraper of v on the real clock, with its logs.
func newVPPScraper(t *testing.T, v *vpptest.VPP, mutate func(*Config)) *vppScraper {
	t.Helper()
	s := newTestScraper(t, v.StatsSocket(), func(c *Config) {
		c.StaleAfter = defaultStaleAfter
		if mutate != nil {
			mutate(c)
		}
	})
	s.now = time.Now
	return s
}

func scrapeVPP(t *testing.T, s *vppScraper) pmetric.Metrics {
	t.Helper()
	m, err := s.scrape(context.Background())
	require.NoError(t, err)
	return m
}

// loopbackUp gives VPP an interface that is up, so there are interface
// series besides local0.
func loopbackUp(t *testing.T, v *vpptest.VPP) {
	t.Helper()
	_, err := v.ExecLines("create loopback interface", "set interface state loop0 up")
	require.NoError(t, err)
}

// startsOf returns the start time of every vpp.interface.packets series.
func startsOf(m pmetric.Metrics) map[string]pcommon.Timestamp {
	out := map[string]pcommon.Timestamp{}
	for k, p := range dataPoints(m, "vpp.interface.packets") {
		out[k] = p.StartTimestamp()
	}
	return out
}

func TestVPPRestarts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		fs   vpptest.FS
		sig  syscall.Signal
		down time.Duration
	}{
		{"SIGTERM", vpptest.TempFS, syscall.SIGTERM, 0},
		{"SIGKILL-disk", vpptest.DiskFS, syscall.SIGKILL, 0},
		{"SIGKILL-tmpfs", vpptest.TmpFS, syscall.SIGKILL, 0},
		{"SIGABRT-disk", vpptest.DiskFS, syscall.SIGABRT, 0},
		{"down-30s", vpptest.DiskFS, syscall.SIGKILL, 30 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := vpptest.Start(t, vpptest.Options{RunFS: c.fs})
			loopbackUp(t, v)
			s := newVPPScraper(t, v, nil)
			logs := observe(s)
			before := startsOf(scrapeVPP(t, s))
			require.Contains(t, before, ifKey(1, "loop0", "receive"))

			require.NoError(t, v.Kill(c.sig))
			// From the first scrape after its death on, nothing of the dead
			// VPP is exported, and nothing is logged per scrape.
			require.Zero(t, scrapeVPP(t, s).DataPointCount(), "values of a dead VPP exported")
			for end := time.Now().Add(c.down); time.Now().Before(end); time.Sleep(time.Second) {
				require.Zero(t, scrapeVPP(t, s).DataPointCount())
			}

			require.NoError(t, v.Start())
			after := startsOf(scrapeVPP(t, s))
			require.NotContains(t, after, ifKey(1, "loop0", "receive"), "the new VPP has no loop0: these are the old VPP's values")
			k := ifKey(0, "local0", "receive")
			require.Contains(t, after, k)
			assert.Greater(t, after[k], before[k], "the new VPP's series start anew")
			assert.Equal(t, []string{logConnected, logAway, logBack}, infoLines(logs))
			if c.down > 0 {
				back := logs.FilterMessage(logBack).All()[0].ContextMap()
				assert.GreaterOrEqual(t, back["unavailable_for"], c.down)
			}
		})
	}
}

// A stopped VPP (SIGSTOP: hung) takes connections but answers none. Once it
// has not answered for stale_after, nothing is exported; when it resumes,
// its series continue.
func TestVPPStopped(t *testing.T) {
	t.Parallel()
	const staleAfter = 3 * time.Second
	v := vpptest.Start(t, vpptest.Options{})
	loopbackUp(t, v)
	s := newVPPScraper(t, v, func(c *Config) { c.StaleAfter = staleAfter })
	logs := observe(s)
	before := startsOf(scrapeVPP(t, s))

	require.NoError(t, v.Signal(syscall.SIGSTOP))
	stopped := time.Now()
	// Within stale_after the values are still exported (a busy main
	// thread is no reason to drop a VPP whose workers count).
	require.NotZero(t, scrapeVPP(t, s).DataPointCount())
	// Its last answer came before SIGSTOP: a scrape that starts
	// stale_after after SIGSTOP exports nothing.
	time.Sleep(time.Until(stopped.Add(staleAfter)))
	require.Zero(t, scrapeVPP(t, s).DataPointCount(), "values of a hung VPP exported after stale_after")
	require.Zero(t, scrapeVPP(t, s).DataPointCount())

	require.NoError(t, v.Signal(syscall.SIGCONT))
	after := startsOf(scrapeVPP(t, s))
	assert.Equal(t, before, after, "same VPP, same series")
	assert.Equal(t, []string{logConnected, logSilent, logBack}, infoLines(logs))
}

// VPP bumps /sys/heartbeat once per update-interval. Whatever that is, a
// VPP that answers is never reported stale.
func TestVPPUpdateInterval(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		interval, watch, every time.Duration
	}{
		{time.Second, 5 * time.Second, 100 * time.Millisecond},
		{60 * time.Second, 65 * time.Second, time.Second},
	} {
		t.Run(c.interval.String(), func(t *testing.T) {
			t.Parallel()
			v := vpptest.Start(t, vpptest.Options{UpdateInterval: c.interval})
			loopbackUp(t, v)
			s := newVPPScraper(t, v, nil) // default stale_after, shorter than 60 s
			logs := observe(s)
			scrapes := 0
			for end := time.Now().Add(c.watch); time.Now().Before(end); time.Sleep(c.every) {
				require.NotZero(t, scrapeVPP(t, s).DataPointCount(), "scrape %d", scrapes)
				scrapes++
			}
			assert.Equal(t, []string{logConnected}, infoLines(logs))
			t.Logf("update-interval %v: %d scrapes in %v, all exported", c.interval, scrapes, c.watch)
		})
	}
}
