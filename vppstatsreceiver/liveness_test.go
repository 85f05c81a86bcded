package vppstatsreceiver

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/vppsim"
)

// Liveness on simulated VPPs served on real sockets: what a scrape exports
// and logs when VPP goes away, comes back, restarts or stops answering.
// The same situations with a real VPP are in liveness_vpp_test.go.

// observe sends the scraper's logs to an observer.
func observe(s *vppScraper) *observer.ObservedLogs {
	core, logs := observer.New(zapcore.DebugLevel)
	s.logger = zap.New(core)
	return logs
}

// infoLines are the messages logged at Info and above, in order.
func infoLines(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.All() {
		if e.Level >= zapcore.InfoLevel {
			out = append(out, e.Message)
		}
	}
	return out
}

// mustScrapeNothing scrapes and wants no error and no point.
func (l *live) mustScrapeNothing(dt time.Duration) {
	l.t.Helper()
	m, err := l.scrape(dt)
	require.NoError(l.t, err, "VPP being away is no scrape error")
	require.Zero(l.t, m.DataPointCount(), "points exported while VPP is away")
}

const (
	logConnected = "connected to VPP's stats segment"
	logAway      = "VPP is unavailable; exporting nothing until it is back"
	logBack      = "VPP is back; exporting its stats again"
	logRestarted = "VPP restarted between two scrapes; all series restart"
	logSilent    = "VPP does not answer on its stats socket; its stats are stale, exporting nothing until it answers"
)

func TestLivenessGoneAndBack(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 2}, nil)
	logs := observe(l.s)
	oldBoot := scalarOf(t, l.sim, "/sys/boottime").Get()
	l.mustScrape(0)

	// VPP stops: its socket file goes (SIGTERM).
	require.NoError(t, l.srv.Close())
	for range 5 {
		l.mustScrapeNothing(10 * time.Second)
	}
	// No backoff for an absent VPP: it is tried at every scrape, so the
	// first scrape after it is back reports it, with its new boot time.
	sim2 := l.newSim(vppsim.Options{Interfaces: 2})
	scalarOf(t, sim2, "/sys/boottime").Set(oldBoot + 100)
	var err error
	l.srv, err = segwriter.NewServer(l.sock, sim2.Writer().Fd())
	require.NoError(t, err)
	m := dataPoints(l.mustScrape(10*time.Second), "vpp.interface.packets")
	require.NotEmpty(t, m)
	newBoot := pcommon.Timestamp((oldBoot + 100) * uint64(time.Second))
	for k, p := range m {
		assert.Equal(t, newBoot, p.StartTimestamp(), k)
	}
	l.mustScrape(10 * time.Second)

	assert.Equal(t, []string{logConnected, logAway, logBack}, infoLines(logs), "one line when VPP goes, one when it is back")
	back := logs.FilterMessage(logBack).All()[0].ContextMap()
	assert.Equal(t, 60*time.Second, back["unavailable_for"], "from its last answer to its return")
	assert.Equal(t, true, back["new_vpp"])
	assert.Contains(t, logs.FilterMessage(logAway).All()[0].ContextMap()["reason"], "does not exist")
}

// A VPP killed with SIGKILL leaves its socket file behind: connections are
// refused. Nothing of the dead VPP is exported from the first scrape after
// its death on.
func TestLivenessKilledVPPLeavesSocket(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 2}, nil)
	logs := observe(l.s)
	l.mustScrape(0)
	require.NoError(t, l.srv.Close())
	leaveDeadSocket(t, l.sock)
	l.mustScrapeNothing(10 * time.Second)
	l.mustScrapeNothing(10 * time.Second)
	assert.Contains(t, logs.FilterMessage(logAway).All()[0].ContextMap()["reason"], "refused")
}

// leaveDeadSocket leaves a socket file nobody listens on at path, as a VPP
// killed with SIGKILL does.
func leaveDeadSocket(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
	require.NoError(t, err)
	require.NoError(t, unix.Bind(fd, &unix.SockaddrUnix{Name: path}))
	require.NoError(t, unix.Close(fd))
}

// A new VPP on the same socket file (a restart between two scrapes, or the
// same inode again after SIGKILL on a disk filesystem): the very next
// scrape reads the new segment.
func TestLivenessRestartBetweenScrapes(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 2}, nil)
	logs := observe(l.s)
	oldBoot := scalarOf(t, l.sim, "/sys/boottime").Get()
	l.mustScrape(0)
	sim2 := l.newSim(vppsim.Options{Interfaces: 2})
	scalarOf(t, sim2, "/sys/boottime").Set(oldBoot + 50)
	require.NoError(t, l.srv.SetFd(sim2.Writer().Fd()))
	m := dataPoints(l.mustScrape(time.Second), "vpp.interface.io")
	require.NotEmpty(t, m)
	newBoot := pcommon.Timestamp((oldBoot + 50) * uint64(time.Second))
	for k, p := range m {
		assert.Equal(t, newBoot, p.StartTimestamp(), k)
	}
	assert.Equal(t, []string{logConnected, logRestarted}, infoLines(logs))
}

// A VPP whose main thread is stopped takes connections but answers none.
// Its values are exported until it has been silent for stale_after, then
// nothing is, until it answers again; its series then continue.
func TestLivenessNoAnswer(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 2}, func(c *Config) { c.StaleAfter = 30 * time.Second })
	logs := observe(l.s)
	before := dataPoints(l.mustScrape(0), "vpp.interface.packets")

	require.NoError(t, l.srv.Close())
	hung := listenWithoutAccepting(t, l.sock)
	m := l.mustScrape(20 * time.Second) // silent for 20 s: maybe busy
	require.NotZero(t, m.DataPointCount())
	l.mustScrapeNothing(10 * time.Second) // silent for 30 s: stale
	l.mustScrapeNothing(10 * time.Second)
	assert.Len(t, logs.FilterMessage(logSilent).All(), 1)

	// It answers again, with the same segment.
	require.NoError(t, hung.Close())
	var err error
	l.srv, err = segwriter.NewServer(l.sock, l.sim.Writer().Fd())
	require.NoError(t, err)
	after := dataPoints(l.mustScrape(10*time.Second), "vpp.interface.packets")
	require.Len(t, after, len(before))
	for k, p := range after {
		assert.Equal(t, before[k].StartTimestamp(), p.StartTimestamp(), "%s: same VPP, same series", k)
	}
	assert.Equal(t, []string{logConnected, logSilent, logBack}, infoLines(logs))
	back := logs.FilterMessage(logBack).All()[0].ContextMap()
	assert.Equal(t, 50*time.Second, back["unavailable_for"])
	assert.Equal(t, false, back["new_vpp"])
}

func TestLivenessStaleAfterZeroExportsASilentVPP(t *testing.T) {
	l := newLive(t, vppsim.Options{}, func(c *Config) { c.StaleAfter = 0 })
	l.mustScrape(0)
	require.NoError(t, l.srv.Close())
	listenWithoutAccepting(t, l.sock)
	require.NotZero(t, l.mustScrape(time.Hour).DataPointCount())
}

// listenWithoutAccepting plays a VPP whose main thread is stopped: the
// kernel queues connections on its socket, nobody answers them.
func listenWithoutAccepting(t *testing.T, path string) net.Listener {
	t.Helper()
	ln, err := net.Listen("unixpacket", path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// A heartbeat that stands still is no sign of a dead VPP: VPP bumps it once
// per `statseg { update-interval }` (up to minutes), and a replayed capture
// never does. A VPP that answers is alive.
func TestLivenessFrozenHeartbeatIsNotStale(t *testing.T) {
	l := newLive(t, vppsim.Options{}, nil)
	for range 10 {
		require.NotZero(t, l.mustScrape(5*time.Minute).DataPointCount())
	}
}

// Failures that are not VPP being away are errors, each followed by a
// growing wait during which nothing is tried (nor logged).
func TestLivenessFailuresBackOff(t *testing.T) {
	sock := socketPath(t)
	accepted := noFdServer(t, sock)
	s := newTestScraper(t, sock, nil)
	clock := time.Now()
	s.now = func() time.Time { return clock }
	var delays []time.Duration
	for range 9 {
		_, err := s.scrape(context.Background())
		require.ErrorContains(t, err, "sent no file descriptor")
		require.ErrorContains(t, err, "next attempt in "+s.link.backoff.String())
		delays = append(delays, s.link.retryAt.Sub(clock))
		n := accepted.Load()
		clock = clock.Add(delays[len(delays)-1] - time.Millisecond)
		m, err := s.scrape(context.Background())
		require.NoError(t, err, "a scrape during the backoff reports nothing new")
		require.Zero(t, m.DataPointCount())
		require.Equal(t, n, accepted.Load(), "a scrape during the backoff tried to connect")
		clock = clock.Add(time.Millisecond)
	}
	assert.Equal(t, []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}, func() (out []time.Duration) {
		for _, d := range delays {
			out = append(out, d/time.Second)
		}
		return out
	}())
}

// noFdServer answers every connection by hanging up without sending an fd
// (not a stats socket), and counts connections.
func noFdServer(t *testing.T, path string) *atomic.Int64 {
	t.Helper()
	ln, err := net.Listen("unixpacket", path)
	require.NoError(t, err)
	var accepted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return &accepted
}

// systemd restarts a crashed VPP within the second: the new VPP's
// /sys/boottime (whole seconds) can equal the old one's. Its series still
// restart, and never start before the old VPP's last scrape.
func TestLivenessRestartInTheSameSecond(t *testing.T) {
	for _, how := range []string{"killed", "replaced"} {
		t.Run(how, func(t *testing.T) {
			l := newLive(t, vppsim.Options{Interfaces: 2}, nil)
			boot := scalarOf(t, l.sim, "/sys/boottime").Get()
			l.sim.Advance(time.Second)
			l.sim.Collect()
			old := dataPoints(l.mustScrape(0), "vpp.interface.packets")
			lastOld := l.ts()
			sim2 := l.newSim(vppsim.Options{Interfaces: 2})
			scalarOf(t, sim2, "/sys/boottime").Set(boot)
			if how == "killed" {
				require.NoError(t, l.srv.Close())
				l.mustScrapeNothing(time.Second)
				var err error
				l.srv, err = segwriter.NewServer(l.sock, sim2.Writer().Fd())
				require.NoError(t, err)
			} else {
				require.NoError(t, l.srv.SetFd(sim2.Writer().Fd()))
			}
			m := dataPoints(l.mustScrape(time.Second), "vpp.interface.packets")
			require.Len(t, m, len(old))
			for k, p := range m {
				assert.Equal(t, lastOld, p.StartTimestamp(), k)
				assert.LessOrEqual(t, p.IntValue(), old[k].IntValue(), "%s: the new VPP's counters", k)
			}
		})
	}
}

// A collector started before VPP: one warning, then one line when VPP is
// there; nothing is exported, and no error returned, meanwhile.
func TestLivenessStartedBeforeVPP(t *testing.T) {
	sock := socketPath(t)
	s := newTestScraper(t, sock, nil)
	logs := observe(s)
	for range 3 {
		m, err := s.scrape(context.Background())
		require.NoError(t, err)
		require.Zero(t, m.DataPointCount())
	}
	sim, err := vppsim.New(vppsim.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	srv, err := segwriter.NewServer(sock, sim.Writer().Fd())
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	m, err := s.scrape(context.Background())
	require.NoError(t, err)
	require.NotZero(t, m.DataPointCount())
	assert.Equal(t, []string{logAway, logConnected}, infoLines(logs))
}

func TestStaleAfterShorterThanAProbeIsRejected(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.StaleAfter = 500 * time.Millisecond
	err := cfg.Validate()
	require.ErrorContains(t, err, "stale_after 500ms is shorter than one probe of VPP's stats socket (1s)")
	cfg.StaleAfter = probeTimeout
	require.NoError(t, cfg.Validate())
}
