package statseg_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.fd.io/govpp/adapter/statsclient"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/internal/vppsim"
)

// A benchProfile is a segment the benchmarks read: the real v26.06 capture,
// or a simulated VPP with Interfaces interfaces and Threads worker threads
// (vectors have Threads+1 rows: main thread plus workers), 1,000 nodes and
// 3,000 error counters.
type benchProfile struct {
	name         string
	capture      string // segment file of a real VPP, or "" for a simulation
	ifs, threads int
	large        bool
}

// benchProfiles lists the profiles: the capture, then vppsim's shared
// profiles. The 50,000-interface ones only run with VPPSTATS_BENCH_LARGE=1
// (make bench sets it).
func benchProfiles() []benchProfile {
	ps := []benchProfile{{name: "v26.06", capture: "../../testdata/vpp/v26.06/a.seg.gz"}}
	for _, sp := range vppsim.Profiles(os.Getenv("VPPSTATS_BENCH_LARGE") != "") {
		ps = append(ps, benchProfile{name: sp.Name, ifs: sp.Interfaces, threads: sp.Threads, large: sp.Interfaces >= 50000})
	}
	return ps
}

// simSegmentFile returns the cached segment file of a simulated VPP.
func simSegmentFile(tb testing.TB, ifs, threads int) string {
	tb.Helper()
	path, built, err := vppsim.Profile{Interfaces: ifs, Threads: threads}.CachedSegment()
	if err != nil {
		tb.Fatal(err)
	}
	if built > 0 {
		tb.Logf("built %s in %v", path, built.Round(time.Millisecond))
	}
	return path
}

// serve serves the profile's segment on a new socket.
func (p benchProfile) serve(b *testing.B) string {
	file := p.capture
	if file == "" {
		file = simSegmentFile(b, p.ifs, p.threads)
	}
	sock := filepath.Join(b.TempDir(), "stats.sock")
	srv, err := segwriter.ServeFile(sock, file)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return sock
}

// connect serves the profile and returns a reader of it, with one snapshot
// of every value taken.
func connect(b *testing.B, p benchProfile) (*statseg.Reader, *statseg.Snapshot, string) {
	sock := p.serve(b)
	r, err := statseg.Connect(sock, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	s := new(statseg.Snapshot)
	if err := r.Snapshot(s, nil); err != nil {
		b.Fatal(err)
	}
	return r, s, sock
}

// reportCells reports the counter cells a read copies, and the cost of each.
func reportCells(b *testing.B, cells int) {
	b.ReportMetric(float64(cells), "cells/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(cells), "ns/cell")
}

// BenchmarkRead refreshes every value of the segment into reused buffers:
// the steady state of a scrape, once the directory is resolved.
func BenchmarkRead(b *testing.B) {
	for _, p := range benchProfiles() {
		b.Run(p.name, func(b *testing.B) {
			r, s, _ := connect(b, p)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := r.Snapshot(s, nil); err != nil {
					b.Fatal(err)
				}
			}
			reportCells(b, s.Cells())
		})
	}
}

// BenchmarkCopyFloor copies the same counter bytes as BenchmarkRead and
// nothing else.
func BenchmarkCopyFloor(b *testing.B) {
	for _, p := range benchProfiles() {
		b.Run(p.name, func(b *testing.B) {
			r, s, _ := connect(b, p)
			dst := make([]byte, r.Size())
			b.SetBytes(int64(statseg.CopyFloor(r, s, dst)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				statseg.CopyFloor(r, s, dst)
			}
			reportCells(b, s.Cells())
		})
	}
}

// BenchmarkGovppDump is govpp v0.14.0-alpha's DumpStats on the same
// segment: the only govpp call that also refreshes symlinked values. It
// takes seconds per call from 10,000 interfaces on: run those with
// -benchtime=1x (make bench does).
func BenchmarkGovppDump(b *testing.B) {
	for _, p := range benchProfiles() {
		b.Run(p.name, func(b *testing.B) {
			_, s, sock := connect(b, p)
			sc := statsclient.NewStatsClient(sock)
			if err := sc.Connect(); err != nil {
				b.Fatal(err)
			}
			defer sc.Disconnect()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := sc.DumpStats("/"); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportCells(b, s.Cells())
		})
	}
}

// BenchmarkGovppUpdateDir is govpp's cheaper refresh of a prepared
// directory (which leaves symlinks stale).
func BenchmarkGovppUpdateDir(b *testing.B) {
	for _, p := range benchProfiles() {
		b.Run(p.name, func(b *testing.B) {
			_, s, sock := connect(b, p)
			sc := statsclient.NewStatsClient(sock)
			if err := sc.Connect(); err != nil {
				b.Fatal(err)
			}
			defer sc.Disconnect()
			dir, err := sc.PrepareDir("/")
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := sc.UpdateDir(dir); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportCells(b, s.Cells())
		})
	}
}
