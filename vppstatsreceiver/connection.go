package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/vppstats/vppstats/internal/statseg"
)

// Connection to VPP's stats segment: connecting, telling a live VPP from a
// dead, restarted or hung one, and backing off after failures.
//
// Every scrape first probes VPP's stats socket (statseg.Reader.Probe): VPP's
// main thread answers each connection with its segment's memfd.
//   - refused, or no socket: VPP is gone. Nothing is exported, so no value
//     of a dead VPP is exported after the first scrape that follows its
//     death, whatever the signal and the filesystem (a SIGKILLed VPP leaves
//     its socket behind, and a restarted one often gets the same inode).
//   - another memfd: a new VPP. The receiver maps the new segment at once;
//     its new boot time restarts every series.
//   - no answer within probeTimeout: VPP's main thread is stopped or busy.
//     Its workers may still count, so values are exported until VPP has not
//     answered for stale_after; from then on nothing is, until it answers.
// VPP going away and coming back are logged once each; while it is away a
// scrape exports nothing and returns no error, so the collector logs
// nothing per scrape. Failures that are not VPP being away (permissions, a
// file that is not a stats segment, an unreadable segment) are errors, and
// the next attempt waits with an exponential backoff.

// probeTimeout bounds the wait for VPP's answer to a probe. VPP answers
// from its main loop within microseconds; a second without an answer means
// the loop is not running.
const probeTimeout = time.Second

// link is what the scraper knows of its VPP between scrapes.
type link struct {
	// answered is when VPP last answered on its stats socket.
	answered time.Time
	// away is when a scrape first found VPP gone (zero while it is there).
	away time.Time
	// stale: VPP has not answered for stale_after and that was logged.
	stale bool
	// everConnected: the first connection has been logged.
	everConnected bool
	// backoff and retryAt delay the next attempt after a failure.
	backoff time.Duration
	retryAt time.Time
	// newVPP: the next segment read is another VPP's (the one read before
	// restarted, or went away), whatever its /sys/boottime says.
	newVPP bool
	// startFloor is the earliest start time of this VPP's series: the
	// last scrape of the VPP before it. /sys/boottime has a resolution of
	// a second, and a VPP restarted by systemd is back within that.
	startFloor pcommon.Timestamp
	// accounted is the time up to which the receiver's telemetry counted
	// time without a usable VPP (zero before the first scrape).
	accounted time.Time
}

// down counts the time since the last scrape as time without a usable VPP:
// disconnected (gone) or stale (not answering for stale_after).
func (s *vppScraper) down(ctx context.Context, now time.Time, stale bool) {
	l := &s.link
	if !l.accounted.IsZero() {
		if stale {
			s.tel.stale(ctx, now.Sub(l.accounted))
		} else {
			s.tel.disconnected(ctx, now.Sub(l.accounted))
		}
	}
	l.accounted = now
}

func (s *vppScraper) disconnect() {
	if s.r != nil {
		_ = s.r.Close()
		s.r = nil
	}
}

// connect makes sure a reader of a live VPP's segment is open. It returns
// false when nothing is to be exported: VPP is away or stale (logged here,
// error nil), or a failure (error, with its next attempt).
func (s *vppScraper) connect(ctx context.Context, now time.Time) (bool, error) {
	if s.r != nil {
		timeout, err := boundedBy(ctx, probeTimeout)
		if err != nil {
			return false, err
		}
		live, err := s.r.Probe(timeout)
		switch live {
		case statseg.Alive:
			s.answered(now, false)
			return true, nil
		case statseg.NoAnswer:
			if s.notAnswering(now, err) {
				s.link.accounted = now
				return true, nil
			}
			s.down(ctx, now, true)
			return false, nil
		case statseg.Gone:
			s.disconnect()
			s.gone(now, err)
			s.down(ctx, now, false)
			return false, nil
		case statseg.Restarted:
			s.disconnect() // and map the new VPP's segment below
			s.link.newVPP = true
		default:
			return false, s.fail(now, err)
		}
	} else if now.Before(s.link.retryAt) {
		s.down(ctx, now, false)
		return false, nil // the failure was reported with its next attempt
	}

	timeout, err := boundedBy(ctx, s.connectTimeout())
	if err != nil {
		return false, err
	}
	r, err := s.open(timeout)
	switch statseg.ClassifyError(err) {
	case statseg.Alive:
	case statseg.Gone, statseg.NoAnswer:
		s.gone(now, err)
		s.down(ctx, now, false)
		return false, nil
	default:
		s.down(ctx, now, false)
		return false, s.fail(now, err)
	}
	s.r = r
	if s.link.everConnected {
		s.tel.reconnected(ctx)
	}
	s.answered(now, true)
	return true, nil
}

// connectTimeout bounds connecting: the scrape's timeout, else a default.
func (s *vppScraper) connectTimeout() time.Duration {
	if s.cfg.Timeout > 0 {
		return s.cfg.Timeout
	}
	return defaultConnTime
}

// boundedBy returns d, shortened to what is left of ctx's deadline.
func boundedBy(ctx context.Context, d time.Duration) (time.Duration, error) {
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
		if d <= 0 { // statseg reads 0 as "no timeout"
			return 0, fmt.Errorf("no time left to reach VPP: %w", context.DeadlineExceeded)
		}
	}
	return d, nil
}

// answered records that VPP answered; connected says on a new connection
// (a new VPP, or the first one). Coming back is logged once.
func (s *vppScraper) answered(now time.Time, connected bool) {
	l := &s.link
	socket := zap.String("socket_path", s.cfg.SocketPath)
	switch {
	case connected && !l.everConnected:
		s.logger.Info("connected to VPP's stats segment", socket)
	case !l.away.IsZero() || l.stale:
		s.logger.Info("VPP is back; exporting its stats again", socket,
			zap.Duration("unavailable_for", now.Sub(l.since()).Round(time.Millisecond)),
			zap.Bool("new_vpp", connected))
	case connected:
		s.logger.Info("VPP restarted between two scrapes; all series restart", socket)
	}
	l.answered, l.away, l.stale, l.accounted = now, time.Time{}, false, now
	l.everConnected = l.everConnected || connected
}

// since is when VPP was last known to be there: its last answer.
func (l *link) since() time.Time { return l.answered }

// gone records that VPP is not running (or not answering a new
// connection); the first scrape that finds it so logs it.
func (s *vppScraper) gone(now time.Time, why error) {
	s.link.newVPP = true
	if !s.link.away.IsZero() {
		return
	}
	s.link.away = now
	if s.link.stale {
		return // already reported as not answering
	}
	s.logger.Warn("VPP is unavailable; exporting nothing until it is back", zap.String("socket_path", s.cfg.SocketPath), zap.String("reason", why.Error()))
}

// notAnswering decides whether the values of a VPP that did not answer the
// probe are still exported: yes until it has not answered for stale_after.
func (s *vppScraper) notAnswering(now time.Time, why error) bool {
	silent := now.Sub(s.link.answered)
	if s.cfg.StaleAfter <= 0 || silent < s.cfg.StaleAfter {
		return true
	}
	if !s.link.stale {
		s.link.stale = true
		s.logger.Warn("VPP does not answer on its stats socket; its stats are stale, exporting nothing until it answers",
			zap.String("socket_path", s.cfg.SocketPath), zap.Duration("silent_for", silent.Round(time.Millisecond)),
			zap.Duration("stale_after", s.cfg.StaleAfter), zap.String("reason", why.Error()))
	}
	return false
}

// fail records a failure that is not VPP being away: it drops the reader
// and delays the next attempt (exponential backoff, reset by a successful
// scrape).
func (s *vppScraper) fail(now time.Time, err error) error {
	s.disconnect()
	l := &s.link
	l.backoff = min(max(2*l.backoff, minBackoff), maxBackoff)
	l.retryAt = now.Add(l.backoff)
	return fmt.Errorf("%w; next attempt in %v", err, l.backoff)
}

// read takes a consistent snapshot, retrying a few times when VPP keeps
// changing the directory.
func (s *vppScraper) read(ctx context.Context) error {
	var err error
	for range busyRetries {
		if err = s.r.Snapshot(&s.snap, s.want); err == nil || !errors.Is(err, statseg.ErrBusy) {
			return err
		}
		s.tel.lockRetried(ctx)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-time.After(busyPause):
		}
	}
	return err
}

// checkBoot restarts every series when the segment is a new VPP's: the
// probe saw it (and logged it), or /sys/boottime changed. The new series
// start at its boot time, but never before the old VPP's last scrape.
func (s *vppScraper) checkBoot(p *plan, boot uint64) {
	if s.bootSeen && (boot != s.bootRaw || s.link.newVPP) {
		s.logger.Debug("new VPP; all series restart", zap.Uint64("old_boottime", s.bootRaw), zap.Uint64("boottime", boot))
		p.reset()
		s.link.startFloor = s.lastScrape
		s.lastScrape = 0
	}
	s.link.newVPP = false
	s.bootRaw, s.bootSeen = boot, true
}
