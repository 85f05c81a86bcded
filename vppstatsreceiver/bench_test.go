package vppstatsreceiver

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vppstats/vppstats/internal/vppsim"
)

// A benchProfile is a segment to scrape: the real v26.06 capture, or a
// simulated VPP with ifs interfaces and threads worker threads (vectors have
// threads+1 rows), 1,000 nodes and 3,000 error counters. The same profiles
// as internal/statseg's benchmarks.
type benchProfile struct {
	name         string
	capture      string
	ifs, threads int
}

// benchProfiles lists the profiles: the capture, then vppsim's shared
// profiles (the 50,000-interface ones only with VPPSTATS_BENCH_LARGE=1, which
// make bench sets), as in internal/statseg's benchmarks.
func benchProfiles() []benchProfile {
	ps := []benchProfile{{name: "v26.06", capture: capturePath("v26.06", "a")}}
	for _, sp := range vppsim.Profiles(os.Getenv("VPPSTATS_BENCH_LARGE") != "") {
		ps = append(ps, benchProfile{name: sp.Name, ifs: sp.Interfaces, threads: sp.Threads})
	}
	return ps
}

// simSegmentFile returns the cached segment file of a simulated VPP.
func simSegmentFile(tb testing.TB, ifs, threads int) string {
	tb.Helper()
	path, built, err := vppsim.Profile{Interfaces: ifs, Threads: threads}.CachedSegment()
	require.NoError(tb, err)
	if built > 0 {
		tb.Logf("built %s in %v", path, built.Round(time.Millisecond))
	}
	return path
}

// scraper serves the profile's segment on a socket and returns a started
// scraper of it.
func (p benchProfile) scraper(tb testing.TB, perThread bool) *vppScraper {
	file := p.capture
	if file == "" {
		file = simSegmentFile(tb, p.ifs, p.threads)
	}
	return newServedCaptureScraper(tb, func(c *Config) { c.PerThread = perThread }, file)
}

// BenchmarkScrape measures one steady-state scrape (same directory epoch,
// connected) into pmetric.Metrics, with the default configuration and with
// per_thread: true. per_thread on 50,000 interfaces with 4 or 8 threads
// (8-16 million points, gigabytes of pdata per scrape) is left out.
func BenchmarkScrape(b *testing.B) {
	for _, p := range benchProfiles() {
		for _, perThread := range []bool{false, true} {
			if perThread && p.ifs >= 50000 && p.threads > 1 {
				continue
			}
			mode := "default"
			if perThread {
				mode = "per_thread"
			}
			b.Run(p.name+"/"+mode, func(b *testing.B) {
				benchScrape(b, p.scraper(b, perThread))
			})
		}
	}
}

// cells counts the counter cells of the scraper's last read.
func (s *vppScraper) cells() int {
	n := 0
	for _, i := range s.snap.Wanted {
		v := &s.snap.Values[i]
		for _, row := range v.Simple {
			n += len(row)
		}
		for _, row := range v.Combined {
			n += len(row)
		}
	}
	return n
}

func benchScrape(b *testing.B, s *vppScraper) {
	ctx := context.Background()
	m, err := s.scrape(ctx) // connect and resolve the directory
	require.NoError(b, err)
	points := m.DataPointCount()
	cells := s.cells()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.scrape(ctx); err != nil {
			b.Fatal(err)
		}
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(float64(cells), "cells/op")
	b.ReportMetric(float64(points), "points/op")
	b.ReportMetric(ns/float64(cells), "ns/cell")
	b.ReportMetric(ns/float64(points), "ns/point")
}

// TestScrapeHeapFlat scrapes a large simulated VPP 100 times and checks
// that the live heap (after a GC) does not grow between scrape 20 and
// scrape 100: nothing accumulates per scrape. 1,000 x 8 by default,
// 50,000 x 8 with VPPSTATS_BENCH_LARGE=1.
func TestScrapeHeapFlat(t *testing.T) {
	ifs := 1000
	if os.Getenv("VPPSTATS_BENCH_LARGE") != "" {
		ifs = 50000
	} else if testing.Short() {
		t.Skip("short")
	}
	s := benchProfile{ifs: ifs, threads: 8}.scraper(t, false)
	ctx := context.Background()
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	// scrapeOnce drops the scrape's metrics, as the pipeline does once
	// they are exported: what stays is the receiver's own heap.
	scrapeOnce := func() int {
		m, err := s.scrape(ctx)
		require.NoError(t, err)
		return m.DataPointCount()
	}
	var at20, at100 uint64
	points := 0
	for i := 1; i <= 100; i++ {
		points = scrapeOnce()
		switch i {
		case 20:
			at20 = heap()
		case 100:
			at100 = heap()
		}
	}
	growth := (float64(at100) - float64(at20)) / float64(at20)
	t.Logf("heap: sim-%dx8 default, %d points/scrape: HeapAlloc after scrape 20 = %.1f MiB, after scrape 100 = %.1f MiB (growth %+.2f%%)",
		ifs, points, float64(at20)/(1<<20), float64(at100)/(1<<20), 100*growth)
	require.Less(t, growth, 0.10, "live heap grew by more than 10%% between scrape 20 and 100")
}
