package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/vppstats/vppstats/internal/statseg"
)

// Connection to VPP's stats segment: connecting with backoff, reading a
// consistent snapshot, and telling a live VPP from a dead or hung one.

func (s *vppScraper) disconnect() {
	if s.r != nil {
		_ = s.r.Close()
		s.r = nil
	}
}

// connect makes sure a reader is open, honouring the backoff after failures.
func (s *vppScraper) connect(ctx context.Context, now time.Time) error {
	if s.r != nil && s.r.SocketReplaced() {
		// VPP restarted (or is restarting): the mapping we hold is the old,
		// frozen segment.
		s.logger.Info("VPP stats socket replaced or removed; reconnecting", zap.String("socket_path", s.cfg.SocketPath))
		s.disconnect()
		s.retryAt = time.Time{}
	}
	if s.r != nil {
		return nil
	}
	if now.Before(s.retryAt) {
		// Back off while nothing changed; a new socket file is VPP back.
		if id := statseg.SocketIdentity(s.cfg.SocketPath); id == 0 || id == s.failedSocket {
			return fmt.Errorf("not connected to VPP (next attempt in %v): %w", s.retryAt.Sub(now).Round(time.Second), s.lastErr)
		}
	}
	timeout := defaultConnTime
	if s.cfg.Timeout > 0 {
		timeout = s.cfg.Timeout
	}
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
		if timeout <= 0 { // statseg.Connect reads 0 as "no timeout"
			return fmt.Errorf("no time left to connect to %s: %w", s.cfg.SocketPath, context.DeadlineExceeded)
		}
	}
	r, err := s.open(timeout)
	if err != nil {
		return s.fail(now, err)
	}
	s.r = r
	return nil
}

// fail records a connection-level failure: it drops the reader and delays
// the next attempt (exponential backoff, reset by a successful scrape).
func (s *vppScraper) fail(now time.Time, err error) error {
	s.disconnect()
	s.backoff = min(max(2*s.backoff, minBackoff), maxBackoff)
	s.retryAt = now.Add(s.backoff)
	s.lastErr = err
	s.failedSocket = statseg.SocketIdentity(s.cfg.SocketPath)
	return err
}

// read takes a consistent snapshot, retrying a few times when VPP keeps
// changing the directory.
func (s *vppScraper) read(ctx context.Context) error {
	var err error
	for range busyRetries {
		if err = s.r.Snapshot(&s.snap, s.want); err == nil || !errors.Is(err, statseg.ErrBusy) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-time.After(busyPause):
		}
	}
	return err
}

// checkAlive tells a live VPP from a hung or restarted one from what the
// snapshot holds: a frozen /sys/heartbeat is a stale segment (error, and
// the reader is dropped), a new /sys/boottime is a restart (every series
// starts anew).
func (s *vppScraper) checkAlive(p *plan, boot uint64, now time.Time) error {
	vals := s.snap.Values
	// Liveness: VPP bumps /sys/heartbeat every stats update interval.
	if p.heartbeat >= 0 {
		hb := vals[p.heartbeat].Scalar
		switch {
		case !s.hbSeen || hb != s.hbValue || boot != s.hbBoot:
			s.hbValue, s.hbBoot, s.hbSince, s.hbSeen = hb, boot, now, true
		case s.cfg.StaleAfter > 0 && now.Sub(s.hbSince) > s.cfg.StaleAfter:
			since := s.hbSince
			s.disconnect()
			return fmt.Errorf("VPP stats are stale: /sys/heartbeat has stayed at %d since %s (%v, stale_after is %v); is VPP hung, or did it restart without replacing %s? Check the VPP process (`vppctl show version`); the receiver reconnects on the next scrape",
				hb, since.Format(time.RFC3339), now.Sub(since).Round(time.Second), s.cfg.StaleAfter, s.cfg.SocketPath)
		}
	}

	// Boot time: start of every cumulative series; a change is a restart.
	if s.bootSeen && boot != s.bootRaw {
		s.logger.Info("VPP restarted (boot time changed); all series restart", zap.Uint64("old_boottime", s.bootRaw), zap.Uint64("boottime", boot))
		p.reset()
		s.lastScrape = 0
	}
	s.bootRaw, s.bootSeen = boot, true
	return nil
}
