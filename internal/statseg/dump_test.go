package statseg

import (
	"testing"

	"github.com/vppstats/vppstats/internal/segwriter"
)

// TestDumpHistogram checks the histogram lines against vpp_get_stats.c's
// format (no capture holds a histogram yet): a header per thread that has
// bins, every bin labelled with its lower bound 2^(min_exp+j-1), and +Inf
// with the total and the sum of count × bound.
func TestDumpHistogram(t *testing.T) {
	w := newTestWriter(t, segwriter.WriterOptions{Size: 1 << 20, Threads: 2})
	h, err := w.AddHistogramLog2("/test/latency", 3, 3) // bins of 8, 16, 32
	if err != nil {
		t.Fatal(err)
	}
	h.AddBin(1, 0, 2) // two values in [8, 16)
	h.AddBin(1, 2, 1) // one value of 32 or more
	r, err := FromBytes(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got := dumpOf(t, snapshotAll(t, r))
	want := `Histogram /test/latency (thread 0):
  <= 8: 0 (cumulative: 0)
  <= 16: 0 (cumulative: 0)
  <= 32: 0 (cumulative: 0)
  +Inf: 0 (total count: 0, sum: 0)
Histogram /test/latency (thread 1):
  <= 8: 2 (cumulative: 2)
  <= 16: 0 (cumulative: 2)
  <= 32: 1 (cumulative: 3)
  +Inf: 3 (total count: 3, sum: 48)
`
	if got != want {
		t.Errorf("dump:\n%s\nwant (vpp_get_stats format):\n%s", got, want)
	}
}

// TestDanglingSymlink: VPP leaves a symlink to a deleted entry in place;
// its C reader prints nothing for it, and the link is not an error.
func TestDanglingSymlink(t *testing.T) {
	w := newTestWriter(t, segwriter.WriterOptions{Size: 1 << 20})
	c, err := w.AddSimpleCounter("/test/c", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddSymlink("/test/c/1", c.Index(), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(); err != nil {
		t.Fatal(err)
	}
	r, err := FromBytes(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	s := snapshotAll(t, r)
	if len(s.Errs) != 0 {
		t.Fatalf("dangling symlink reported as an error: %v", s.Errs)
	}
	if out := dumpOf(t, s); out != "" {
		t.Errorf("dump printed %q for a dangling symlink", out)
	}
}
