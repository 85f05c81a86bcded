package statseg

import (
	"testing"

	"github.com/vppstats/vppstats/internal/segwriter"
)

// TestEntryColumns: a vector's width is known from the directory alone.
func TestEntryColumns(t *testing.T) {
	w, err := segwriter.NewWriter(segwriter.WriterOptions{Threads: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.AddCombinedCounter("/if/rx", 7); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddScalar("/sys/heartbeat"); err != nil {
		t.Fatal(err)
	}
	r, err := FromBytes(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Directory()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"/if/rx": 7, "/sys/heartbeat": 0} {
		e, ok := d.Lookup(name)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		if got := e.Columns(); got != want {
			t.Errorf("%s: Columns() = %d, want %d", name, got, want)
		}
	}
}

// TestValueUpdatesKeepDirectory: VPP updates scalars and gauges (heartbeat,
// rates, last_update) in their directory entries every update-interval
// without an epoch change. That is not a directory change: the reader must
// keep the directory it resolved rather than resolve every entry anew on
// each read, for whole snapshots and for one entry.
func TestValueUpdatesKeepDirectory(t *testing.T) {
	w := newTestWriter(t, segwriter.WriterOptions{Size: 1 << 20, Threads: 1})
	heartbeat := must[segwriter.Scalar](t)(w.AddScalar("/sys/heartbeat"))
	rate := must[segwriter.Scalar](t)(w.AddGauge("/sys/vector_rate"))
	must[segwriter.SimpleCounter](t)(w.AddSimpleCounter("/if/drops", 4))
	r := connectTo(t, w)
	d1, err := r.Directory()
	if err != nil {
		t.Fatal(err)
	}
	epoch := w.Epoch()
	heartbeat.Set(7)
	rate.Set(1234)
	if w.Epoch() != epoch {
		t.Fatal("Set moved the epoch; VPP's does not")
	}
	if d2, err := r.Directory(); err != nil || d2 != d1 {
		t.Fatalf("Directory after value updates: %p (%v), want the directory resolved before, %p", d2, err, d1)
	}
	var v Value
	d3, e, err := r.ReadEntry("/sys/heartbeat", &v)
	if err != nil || d3 != d1 || v.Scalar != 7 {
		t.Fatalf("ReadEntry = dir %p, %v, value %d; want dir %p, value 7", d3, err, v.Scalar, d1)
	}
	if e.Name != "/sys/heartbeat" {
		t.Fatalf("ReadEntry returned %q", e.Name)
	}
	var s Snapshot
	if err := r.Snapshot(&s, nil); err != nil || s.Dir != d1 {
		t.Fatalf("Snapshot dir %p (%v), want %p", s.Dir, err, d1)
	}
}
