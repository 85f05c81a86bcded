package statseg_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.fd.io/govpp/adapter/statsclient"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/internal/vppsim"
)

// benchSegment serves a segment for a benchmark and returns its socket.
type benchSegment struct {
	name  string
	serve func(b *testing.B, sock string) func()
}

func benchSegments() []benchSegment {
	segs := []benchSegment{{
		name: "v26.06",
		serve: func(b *testing.B, sock string) func() {
			srv, err := statseg.ServeFile(sock, "../../testdata/vpp/v26.06/a.seg.gz")
			if err != nil {
				b.Fatal(err)
			}
			return func() { srv.Close() }
		},
	}}
	for _, p := range []struct{ ifs, threads int }{{1000, 4}, {10000, 4}} {
		segs = append(segs, benchSegment{
			name: fmt.Sprintf("sim-%dx%d", p.ifs, p.threads),
			serve: func(b *testing.B, sock string) func() {
				sim, err := vppsim.New(vppsim.Options{
					Interfaces: p.ifs, Threads: p.threads, Nodes: 1000, Errors: 3000,
					SegmentSize: 256 << 20,
				})
				if err != nil {
					b.Fatal(err)
				}
				sim.Advance(time.Second)
				srv, err := statseg.NewServer(sock, sim.Writer().Fd())
				if err != nil {
					b.Fatal(err)
				}
				return func() { srv.Close(); sim.Close() }
			},
		})
	}
	return segs
}

func connect(b *testing.B, seg benchSegment) (*statseg.Reader, string) {
	sock := filepath.Join(b.TempDir(), "stats.sock")
	b.Cleanup(seg.serve(b, sock))
	r, err := statseg.Connect(sock, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r, sock
}

// reportCells reports the counter cells a read copies, and the cost of each.
func reportCells(b *testing.B, s *statseg.Snapshot) {
	cells := 0
	for _, i := range s.Wanted {
		v := &s.Values[i]
		for _, row := range v.Simple {
			cells += len(row)
		}
		for _, row := range v.Combined {
			cells += len(row)
		}
	}
	b.ReportMetric(float64(cells), "cells/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(cells), "ns/cell")
}

// BenchmarkRead refreshes every value of the segment into reused buffers:
// the steady state of a scrape, once the directory is resolved.
func BenchmarkRead(b *testing.B) {
	for _, seg := range benchSegments() {
		b.Run(seg.name, func(b *testing.B) {
			r, _ := connect(b, seg)
			var s statseg.Snapshot
			if err := r.Snapshot(&s, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := r.Snapshot(&s, nil); err != nil {
					b.Fatal(err)
				}
			}
			reportCells(b, &s)
		})
	}
}

// BenchmarkCopyFloor copies the same counter bytes as BenchmarkRead and
// nothing else.
func BenchmarkCopyFloor(b *testing.B) {
	for _, seg := range benchSegments() {
		b.Run(seg.name, func(b *testing.B) {
			r, _ := connect(b, seg)
			var s statseg.Snapshot
			if err := r.Snapshot(&s, nil); err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, r.Size())
			b.SetBytes(int64(statseg.CopyFloor(r, &s, dst)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				statseg.CopyFloor(r, &s, dst)
			}
			reportCells(b, &s)
		})
	}
}

// BenchmarkGovppDump is govpp v0.14.0-alpha's DumpStats on the same
// segment: the only govpp call that also refreshes symlinked values.
func BenchmarkGovppDump(b *testing.B) {
	for _, seg := range benchSegments() {
		b.Run(seg.name, func(b *testing.B) {
			_, sock := connect(b, seg)
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
		})
	}
}

// BenchmarkGovppUpdateDir is govpp's cheaper refresh of a prepared
// directory (which leaves symlinks stale).
func BenchmarkGovppUpdateDir(b *testing.B) {
	for _, seg := range benchSegments() {
		b.Run(seg.name, func(b *testing.B) {
			_, sock := connect(b, seg)
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
		})
	}
}
