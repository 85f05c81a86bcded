package statsfs

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/statseg"
)

// largeSegment publishes the interface stats of a VPP with ifs interfaces
// and 2 threads: the 17 /if vectors, /if/names and 17 symlinks per
// interface under /interfaces, as VPP does. 23,000 interfaces make about
// 400,000 entries.
func largeSegment(tb testing.TB, ifs int) (*segwriter.Writer, []string) {
	tb.Helper()
	w, err := segwriter.NewWriter(segwriter.WriterOptions{Size: 256 << 20, Threads: 2})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.Close() })
	names := make([]string, ifs)
	for i := range names {
		names[i] = fmt.Sprintf("tap%d", i)
	}
	if _, err := w.AddNameVector("/if/names", names); err != nil {
		tb.Fatal(err)
	}
	var stats []string
	for _, ctr := range []string{"drops", "punt", "ip4", "ip6", "rx-no-buf", "rx-miss", "rx-error", "tx-error", "mpls",
		"rx", "rx-unicast", "rx-multicast", "rx-broadcast", "tx", "tx-unicast", "tx-multicast", "tx-broadcast"} {
		var target uint32
		if ctr[0] == 'r' && ctr != "rx-no-buf" && ctr != "rx-miss" && ctr != "rx-error" || ctr[0] == 't' && ctr != "tx-error" {
			c, err := w.AddCombinedCounter("/if/"+ctr, ifs)
			if err != nil {
				tb.Fatal(err)
			}
			target = c.Index()
		} else {
			c, err := w.AddSimpleCounter("/if/"+ctr, ifs)
			if err != nil {
				tb.Fatal(err)
			}
			target = c.Index()
		}
		for i, n := range names {
			name := "/interfaces/" + n + "/" + ctr
			if _, err := w.AddSymlink(name, target, uint32(i)); err != nil {
				tb.Fatal(err)
			}
			stats = append(stats, name)
		}
	}
	return w, stats
}

// BenchmarkOpen400k opens stat files of a directory of about 400,000
// entries: through the mount (open, read and close of one file), through
// the source alone (what the mount does for an open), and, as the
// alternative an open used to cost, a snapshot of the one stat that
// selects it from the whole directory.
func BenchmarkOpen400k(b *testing.B) {
	w, stats := largeSegment(b, 23_000)
	open := func() (*statseg.Reader, error) { return statseg.FromBytes(w.Mem()) }
	r, err := open()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	d, err := r.Directory()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d directory entries", len(d.Entries))
	// A stride through the stats, so that consecutive opens hit different
	// vectors and different directories.
	pick := func(i int) string { return stats[(i*7919)%len(stats)] }

	b.Run("mount", func(b *testing.B) {
		mnt := mountTest(b, "bench", open)
		if _, err := os.ReadFile(filepath.Join(mnt, StatPath(pick(0)))); err != nil {
			b.Fatal(err) // builds the tree: once per directory epoch
		}
		b.ResetTimer()
		for i := range b.N {
			if _, err := os.ReadFile(filepath.Join(mnt, StatPath(pick(i)))); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/open")
	})
	b.Run("source", func(b *testing.B) {
		src := newSource(open, log.New(os.Stderr, "", 0))
		defer src.close()
		if _, err := src.read(pick(0)); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			if _, err := src.read(pick(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/open")
	})
	b.Run("full-directory-pass", func(b *testing.B) {
		var s statseg.Snapshot
		for i := range b.N {
			name := pick(i)
			s.Dir = nil // a new want: select from the whole directory again
			if err := r.Snapshot(&s, func(e *statseg.Entry) bool { return e.Name == name }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/open")
	})
}
