package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"context"
	"time"

	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

// telemetry is the receiver's own health, declared under `telemetry:` in
// metadata.yaml and exported by the collector as otelcol_vppstats_*. Its
// methods are the hooks the scraper and the connection code call; each is
// safe on a receiver whose telemetry could not be set up (tb nil).
//
// Called from scraper.go: epochChanged, unreadable, scraped.
// Called from connection.go: reconnected (a connection made after the first),
// disconnected (time without a usable connection), stale (time VPP left
// the probe unanswered while connected), lockRetried (a read retried on
// ErrBusy).
type telemetry struct {
	tb *metadata.TelemetryBuilder
}

func (t telemetry) reconnected(ctx context.Context) {
	if t.tb != nil {
		t.tb.VppstatsReconnects.Add(ctx, 1)
	}
}

func (t telemetry) disconnected(ctx context.Context, d time.Duration) {
	if t.tb != nil && d > 0 {
		t.tb.VppstatsDisconnectedTime.Add(ctx, d.Seconds())
	}
}

func (t telemetry) stale(ctx context.Context, d time.Duration) {
	if t.tb != nil && d > 0 {
		t.tb.VppstatsStaleTime.Add(ctx, d.Seconds())
	}
}

func (t telemetry) lockRetried(ctx context.Context) {
	if t.tb != nil {
		t.tb.VppstatsLockRetries.Add(ctx, 1)
	}
}

func (t telemetry) epochChanged(ctx context.Context) {
	if t.tb != nil {
		t.tb.VppstatsEpochChanges.Add(ctx, 1)
	}
}

func (t telemetry) unreadable(ctx context.Context, n int) {
	if t.tb != nil {
		t.tb.VppstatsUnreadableEntries.Record(ctx, int64(n))
	}
}

func (t telemetry) scraped(ctx context.Context, d time.Duration) {
	if t.tb != nil {
		t.tb.VppstatsScrapeDuration.Record(ctx, d.Seconds())
	}
}

func (t telemetry) shutdown() {
	if t.tb != nil {
		t.tb.Shutdown()
	}
}
