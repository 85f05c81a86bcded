package statseg

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/vppstats/vppstats/internal/segwriter"
)

// liveReader reads w's mapping as VPP's clients do: while w changes it.
func liveReader(t *testing.T, w *segwriter.Writer) *Reader {
	t.Helper()
	r, err := FromBytes(w.Mem())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestReadEntryMatchesSnapshot: one entry read alone has the value a
// snapshot of everything gives it, for every kind of entry.
func TestReadEntryMatchesSnapshot(t *testing.T) {
	w := newTestWriter(t, segwriter.WriterOptions{Threads: 3})
	hb := must[segwriter.Scalar](t)(w.AddScalar("/sys/heartbeat"))
	hb.Set(42)
	drops := must[segwriter.SimpleCounter](t)(w.AddSimpleCounter("/if/drops", 4))
	rx := must[segwriter.CombinedCounter](t)(w.AddCombinedCounter("/if/rx", 4))
	must[segwriter.NameVector](t)(w.AddNameVector("/if/names", []string{"local0", "", "tap0", "loop0"}))
	hist := must[segwriter.HistogramLog2](t)(w.AddHistogramLog2("/sys/hist", 2, 4))
	for th := range 3 {
		for i := range 4 {
			drops.Set(th, i, uint64(100*th+i))
			rx.Add(th, i, uint64(10*th+i), uint64(1000*th+i))
		}
		hist.Observe(th, uint64(1<<(th+2)))
	}
	must[*segwriter.Handle](t)(w.AddSymlink("/interfaces/tap0/drops", drops.Index(), 2))
	must[*segwriter.Handle](t)(w.AddSymlink("/interfaces/tap0/rx", rx.Index(), 2))
	must[*segwriter.Handle](t)(w.AddSymlink("/interfaces/beat", hb.Index(), 0))

	r := liveReader(t, w)
	snap := snapshotAll(t, r)
	var v Value
	for i := range snap.Dir.Entries {
		want := &snap.Dir.Entries[i]
		d, e, err := r.ReadEntry(want.Name, &v)
		if err != nil {
			t.Fatalf("%s: %v", want.Name, err)
		}
		if e == nil || e.Name != want.Name || d != snap.Dir {
			t.Fatalf("%s: got entry %v of directory %p, want %p", want.Name, e, d, snap.Dir)
		}
		if got, want := fmt.Sprint(v), fmt.Sprint(snap.Values[i]); got != want {
			t.Errorf("%s: ReadEntry read %s, Snapshot %s", e.Name, got, want)
		}
		if e.Type == TypeNameVector && !reflect.DeepEqual(e.Names, want.Names) {
			t.Errorf("%s: names %q, want %q", e.Name, e.Names, want.Names)
		}
		v = Value{}
	}
	d, e, err := r.ReadEntry("/no/such/stat", &v)
	if err != nil || e != nil || d == nil {
		t.Errorf("a missing stat: entry %v, directory %v, error %v; want no entry, the directory, no error", e, d, err)
	}
}

// TestReadEntryFollowsUnlockedChanges: VPP adds symlinks without bumping
// the epoch, moving the directory when it is full. A reader of one entry
// must find the new names and must not keep reading the old directory's
// copy of a scalar (scalars live in their directory entry).
func TestReadEntryFollowsUnlockedChanges(t *testing.T) {
	w := newTestWriter(t, segwriter.WriterOptions{Threads: 2})
	hb := must[segwriter.Scalar](t)(w.AddScalar("/sys/heartbeat"))
	drops := must[segwriter.SimpleCounter](t)(w.AddSimpleCounter("/if/drops", 2))
	r := liveReader(t, w)
	var v Value
	epoch := w.Epoch()
	link := func(i int) {
		must[*segwriter.Handle](t)(w.AddSymlinkUnlocked(fmt.Sprintf("/err/node%d/drops", i), drops.Index(), uint32(i%2)))
	}
	// Fill the directory to the brim, read, then add one more: the
	// directory moves but keeps its length in the old place.
	i := 0
	for ; w.Len() < w.Room(); i++ {
		link(i)
	}
	hb.Set(1)
	if _, e, err := r.ReadEntry("/sys/heartbeat", &v); err != nil || e == nil || v.Scalar != 1 {
		t.Fatalf("heartbeat: entry %v, value %d, error %v; want 1", e, v.Scalar, err)
	}
	room := w.Room()
	link(i)
	if w.Room() == room {
		t.Fatal("the directory did not move")
	}
	if w.Epoch() != epoch {
		t.Fatalf("unlocked symlinks moved the epoch from %d to %d", epoch, w.Epoch())
	}
	hb.Set(2)
	drops.Set(1, 1, 7)
	if _, e, err := r.ReadEntry("/sys/heartbeat", &v); err != nil || e == nil || v.Scalar != 2 {
		t.Errorf("heartbeat after the directory moved: entry %v, value %d, error %v; want 2", e, v.Scalar, err)
	}
	v = Value{}
	_, e, err := r.ReadEntry("/err/node1/drops", &v)
	if err != nil || e == nil {
		t.Fatalf("a symlink added without an epoch change: entry %v, error %v", e, err)
	}
	if want := [][]uint64{{0}, {7}}; !reflect.DeepEqual(v.Simple, want) {
		t.Errorf("/err/node1/drops = %v, want %v", v.Simple, want)
	}
}

// TestReadEntryAllocatesNothing: at an unchanged directory, reading one
// entry into a reused Value allocates nothing.
func TestReadEntryAllocatesNothing(t *testing.T) {
	w := newTestWriter(t, segwriter.WriterOptions{Threads: 2})
	rx := must[segwriter.CombinedCounter](t)(w.AddCombinedCounter("/if/rx", 8))
	must[*segwriter.Handle](t)(w.AddSymlink("/interfaces/tap0/rx", rx.Index(), 3))
	r := liveReader(t, w)
	var v Value
	for _, name := range []string{"/if/rx", "/interfaces/tap0/rx"} {
		if _, _, err := r.ReadEntry(name, &v); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if _, _, err := r.ReadEntry(name, &v); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: a read at an unchanged directory allocated %v times, want 0", name, allocs)
		}
	}
}

// TestReadEntryClosed: a closed reader says so.
func TestReadEntryClosed(t *testing.T) {
	w := newTestWriter(t, segwriter.WriterOptions{})
	r := liveReader(t, w)
	r.Close()
	var v Value
	if _, _, err := r.ReadEntry("/sys/heartbeat", &v); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadEntry after Close: %v, want os.ErrClosed", err)
	}
}
