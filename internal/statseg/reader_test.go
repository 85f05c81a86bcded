package statseg

import "testing"

// TestSnapshotAllocatesNothing: at an unchanged epoch a read reuses the
// snapshot's buffers and allocates nothing, closed-state check included.
func TestSnapshotAllocatesNothing(t *testing.T) {
	r, err := OpenFile("../../testdata/vpp/v26.06/a.seg.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s Snapshot
	if err := r.Snapshot(&s, nil); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := r.Snapshot(&s, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a read at an unchanged epoch allocated %v times, want 0", allocs)
	}
}
