package vppstatsreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/internal/vppsim"
)

// BenchmarkScrape measures one steady-state scrape (same directory epoch) of
// the v26.06 capture served on a real socket, and of a large simulated VPP.
func BenchmarkScrape(b *testing.B) {
	for _, perThread := range []bool{false, true} {
		name := "default"
		if perThread {
			name = "per_thread"
		}
		b.Run("capture-v26.06/"+name, func(b *testing.B) {
			s := newServedCaptureScraper(b, func(c *Config) { c.PerThread = perThread }, capturePath("v26.06", "a"))
			benchScrape(b, s)
		})
	}
	for _, perThread := range []bool{false, true} {
		name := "default"
		if perThread {
			name = "per_thread"
		}
		b.Run("sim-5000if-8threads/"+name, func(b *testing.B) {
			sim, err := vppsim.New(vppsim.Options{Interfaces: 5000, Threads: 7, Nodes: 700, Errors: 3000, SegmentSize: 256 << 20})
			require.NoError(b, err)
			b.Cleanup(func() { _ = sim.Close() })
			sim.Advance(time.Second)
			sock := socketPath(b)
			srv, err := statseg.NewServer(sock, sim.Writer().Fd())
			require.NoError(b, err)
			b.Cleanup(func() { _ = srv.Close() })
			s := newTestScraper(b, sock, func(c *Config) { c.PerThread = perThread })
			benchScrape(b, s)
		})
	}
}

func benchScrape(b *testing.B, s *vppScraper) {
	ctx := context.Background()
	m, err := s.scrape(ctx) // connect and resolve the directory
	require.NoError(b, err)
	points := m.DataPointCount()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.scrape(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(points), "points/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(points), "ns/point")
}
