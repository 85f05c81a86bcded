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
