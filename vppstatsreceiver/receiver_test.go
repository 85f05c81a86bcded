package vppstatsreceiver

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

// hasMetric reports whether any batch the sink got holds points of name.
func hasMetric(batches []pmetric.Metrics, name string) bool {
	for _, md := range batches {
		if len(dataPoints(md, name)) > 0 {
			return true
		}
	}
	return false
}

// TestReceiverStartsBeforeVPP runs the whole receiver, as the collector
// does, through the factory: started while no VPP listens (the collector
// must start anyway), it delivers metrics once VPP's socket appears, and
// shuts down promptly.
func TestReceiverStartsBeforeVPP(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "stats.sock")
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.SocketPath = sock
	cfg.CollectionInterval = 50 * time.Millisecond
	cfg.InitialDelay = 0
	cfg.StaleAfter = 0 // a replayed capture has a frozen heartbeat
	require.NoError(t, cfg.Validate())

	sink := new(consumertest.MetricsSink)
	rcv, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))

	time.Sleep(200 * time.Millisecond) // several failed scrapes
	require.Zero(t, sink.DataPointCount(), "points without a VPP")

	srv, err := segwriter.ServeFile(sock, "../testdata/vpp/v26.06/a.seg.gz")
	require.NoError(t, err)
	defer srv.Close()
	// The receiver backs off after failures (1 s, 2 s, …): allow for it.
	require.Eventually(t, func() bool { return hasMetric(sink.AllMetrics(), "vpp.interface.packets") },
		10*time.Second, 20*time.Millisecond, "no vpp.interface.packets after VPP came up")
	require.True(t, hasMetric(sink.AllMetrics(), "vpp.buffer_pool.buffers"), "v26 gauges missing")

	done := make(chan error, 1)
	go func() { done <- rcv.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}

// TestReceiverSurvivesRefusingConsumer keeps scraping when the next
// consumer refuses every batch (a full exporter queue, say).
func TestReceiverSurvivesRefusingConsumer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "stats.sock")
	srv, err := segwriter.ServeFile(sock, "../testdata/vpp/v25.10/a.seg.gz")
	require.NoError(t, err)
	defer srv.Close()

	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.SocketPath = sock
	cfg.CollectionInterval = 20 * time.Millisecond
	cfg.InitialDelay = 0
	cfg.StaleAfter = 0

	var calls atomic.Int64
	refusing, err := consumer.NewMetrics(func(context.Context, pmetric.Metrics) error {
		calls.Add(1)
		return errors.New("queue full")
	})
	require.NoError(t, err)
	rcv, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, refusing)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return calls.Load() >= 5 }, 10*time.Second, 10*time.Millisecond,
		"scraping stopped after the consumer refused a batch")
	require.NoError(t, rcv.Shutdown(context.Background()))
}
