package statseg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/vppstats/vppstats/internal/segwriter"
)

// rawSegment crafts segments the writer cannot: NULL thread rows, tens of
// thousands of rows, headers of other VPP versions. Vectors are laid out
// one after the other from the second page on, each behind a 64-byte
// header area.
type rawSegment struct {
	data []byte
	base uint64
	next int
}

const rawBase = 0x7f0000000000

func newRawSegment(size int) *rawSegment {
	r := &rawSegment{data: make([]byte, size), base: rawBase, next: 4096}
	binary.LittleEndian.PutUint64(r.data[headerVersion:], SegmentVersion)
	binary.LittleEndian.PutUint64(r.data[headerBase:], rawBase)
	return r
}

// vec allocates a vector of n elements of elem bytes and returns the
// offset of its first element.
func (r *rawSegment) vec(n, elem int) int {
	off := r.next + 64
	r.next = (off + n*elem + 63) &^ 63
	binary.LittleEndian.PutUint32(r.data[off+vecLenOffset:], uint32(n))
	return off
}

func (r *rawSegment) ptr(off int) uint64 { return r.base + uint64(off) }

func (r *rawSegment) put64(off int, v uint64) { binary.LittleEndian.PutUint64(r.data[off:], v) }

// rawEntry is a directory entry: its type, union and name.
type rawEntry struct {
	typ   Type
	union uint64
	name  string
}

// directory writes entries as the directory vector and publishes it.
func (r *rawSegment) directory(entries []rawEntry) {
	dir := r.vec(len(entries), entrySize)
	for i, e := range entries {
		eo := dir + i*entrySize
		binary.LittleEndian.PutUint32(r.data[eo+entryType:], uint32(e.typ))
		r.put64(eo+entryUnion, e.union)
		copy(r.data[eo+entryName:eo+entryName+entryNameSize-1], e.name)
	}
	r.put64(headerDirectory, r.ptr(dir))
}

// counter writes a simple counter vector with one row per entry of widths
// (-1: a NULL row) and returns the pointer to its vector of rows.
func (r *rawSegment) counter(widths []int) uint64 {
	rows := r.vec(len(widths), pointerSize)
	for t, n := range widths {
		if n >= 0 {
			r.put64(rows+t*pointerSize, r.ptr(r.vec(n, counterElemSize)))
		}
	}
	return r.ptr(rows)
}

func symlinkTo(target, column uint32) uint64 { return uint64(target) | uint64(column)<<32 }

// TestSymlinkColumnBeyondWidth: a /err/* link whose column (5,000,000 here,
// up to 2^32 in a hostile segment) is beyond its target's width must be
// unreadable, whatever the target's rows, so that no consumer sizes anything
// by that column.
func TestSymlinkColumnBeyondWidth(t *testing.T) {
	const column = 5_000_000
	for _, tc := range []struct {
		name   string
		widths []int // the target's rows; -1 is a NULL row
	}{
		{"rows of 10 columns", []int{10, 10}},
		{"NULL rows only", []int{-1, -1}},
		{"no rows", nil},
		{"NULL row beside a row of 10", []int{-1, 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg := newRawSegment(1 << 20)
			seg.directory([]rawEntry{
				{TypeCounterSimple, seg.counter(tc.widths), "/node/errors"},
				{TypeSymlink, symlinkTo(0, column), "/err/ip4-input/bad"},
			})
			r, err := FromBytes(seg.data)
			if err != nil {
				t.Fatal(err)
			}
			s := snapshotAll(t, r)
			e, _ := s.Dir.Lookup("/err/ip4-input/bad")
			if e.Err == nil || !strings.Contains(e.Err.Error(), "beyond its target's width") {
				t.Fatalf("symlink to column %d of a target of rows %v: Err = %v, want beyond its target's width", column, tc.widths, e.Err)
			}
			if len(s.Errs) != 1 || s.Errs[0] != e.Err {
				t.Errorf("snapshot errors %v, want the symlink's", s.Errs)
			}
			for _, i := range s.Wanted {
				if i == e.Index {
					t.Errorf("the unreadable symlink is wanted and read")
				}
			}
		})
	}
}

// TestSymlinksAreChargedToTheReadBound: 200 symlinks into a target of
// 100,000 thread rows (mostly NULL) in a 1 MiB segment made a snapshot
// allocate 369 MiB. Links must be charged to the read bound, so that a
// snapshot holds at most twice the segment's size in values.
func TestSymlinksAreChargedToTheReadBound(t *testing.T) {
	const (
		size  = 1 << 20
		rows  = 100_000
		links = 200
	)
	seg := newRawSegment(size)
	widths := make([]int, rows)
	for i := range widths {
		widths[i] = -1
	}
	widths[0] = 1
	entries := []rawEntry{{TypeCounterSimple, seg.counter(widths), "/node/errors"}}
	for i := range links {
		entries = append(entries, rawEntry{TypeSymlink, symlinkTo(0, 0), fmt.Sprintf("/err/n/%d", i)})
	}
	seg.directory(entries)
	if seg.next > size {
		t.Fatalf("crafted segment needs %d bytes", seg.next)
	}
	r, err := FromBytes(seg.data)
	if err != nil {
		t.Fatal(err)
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var s Snapshot
	if err := r.Snapshot(&s, nil); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)

	checkReadBound(t, &s, size)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*size {
		t.Errorf("a snapshot of a %d-byte segment allocated %d bytes", size, alloc)
	}
	refused := 0
	for _, err := range s.Errs {
		if strings.Contains(err.Error(), "more cells than the segment holds") {
			refused++
		}
	}
	if refused == 0 || refused == links {
		t.Errorf("%d of %d symlinks refused; want the ones beyond the bound, not all: %v", refused, links, s.Errs[:min(len(s.Errs), 3)])
	}
}

// TestClosedReader: after Close every read says os.ErrClosed instead of
// reading unmapped memory and blaming VPP.
func TestClosedReader(t *testing.T) {
	w := newTestWriter(t, segwriter.WriterOptions{Size: 1 << 20})
	if _, err := w.AddSimpleCounter("/test/c", 4); err != nil {
		t.Fatal(err)
	}
	r := connectTo(t, w)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := r.Snapshot(&s, nil); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Snapshot after Close: %v, want os.ErrClosed", err)
	}
	if _, err := r.Directory(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Directory after Close: %v, want os.ErrClosed", err)
	}
	if _, err := r.Copy(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Copy after Close: %v, want os.ErrClosed", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestCloseRacesReads: Close called while other goroutines read (a
// collector shutting down mid-scrape) waits for the read in progress; every
// read succeeds or says os.ErrClosed, none faults on the unmapped segment.
func TestCloseRacesReads(t *testing.T) {
	w := newTestWriter(t, segwriter.WriterOptions{Size: 1 << 20, Threads: 2})
	c, err := w.AddCombinedCounter("/test/c", 512)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(1, 7, 1, 64)
	for range 20 {
		r := connectTo(t, w)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var s Snapshot
				for i := 0; ; i++ {
					var err error
					switch (g + i) % 3 {
					case 0:
						err = r.Snapshot(&s, nil)
					case 1:
						_, err = r.Directory()
					case 2:
						_, err = r.Copy()
					}
					if errors.Is(err, os.ErrClosed) {
						return
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		runtime.Gosched()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("read racing Close: %v, want success or os.ErrClosed", err)
		}
	}
}

// connectTo serves w on a socket and connects a reader to it: the reader
// maps the writer's memfd, as it would VPP's.
func connectTo(t *testing.T, w *segwriter.Writer) *Reader {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "stats.sock")
	srv, err := segwriter.NewServer(sock, w.Fd())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r, err := Connect(sock, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestLegacyLayoutRefused: VPP before 22.06 also wrote version 2, with a
// sixth header word pointing at its error-counter vector and entry types
// numbered otherwise. Such a segment is refused, naming the VPPs supported,
// instead of being misread entry by entry.
func TestLegacyLayoutRefused(t *testing.T) {
	w := newTestWriter(t, segwriter.WriterOptions{Size: 1 << 20})
	if _, err := w.AddSimpleCounter("/err/ip4-input/drops", 4); err != nil {
		t.Fatal(err)
	}
	data := w.Bytes()
	if _, err := FromBytes(data); err != nil {
		t.Fatalf("a 22.06+ segment (the header's sixth word 0): %v", err)
	}
	binary.LittleEndian.PutUint64(data[headerLegacyErrors:], w.Base()+0x3000)
	_, err := FromBytes(data)
	if err == nil || !strings.Contains(err.Error(), "older than 22.06") || !strings.Contains(err.Error(), "VPP 22.06 and later") {
		t.Fatalf("legacy version-2 segment: %v, want a refusal naming the VPP versions supported", err)
	}
}

// directoryPointer is where the header of w's segment says the directory is.
func directoryPointer(w *segwriter.Writer) uint64 {
	return binary.LittleEndian.Uint64(w.Bytes()[headerDirectory:])
}

// TestUnlockedSymlinkIsSeen: vlib_stats_add_symlink adds a link without the
// lock and without an epoch change, appending to the directory (in place or
// by moving it) or reusing a free slot. A reader that resolved the
// directory at that epoch must see the new link on its next read.
func TestUnlockedSymlinkIsSeen(t *testing.T) {
	for _, tc := range []struct {
		name string
		// prepare leaves the directory so that the link lands as named:
		// appended in place, appended after moving the directory, or in a
		// freed slot.
		prepare func(t *testing.T, w *segwriter.Writer)
	}{
		{"appended", func(t *testing.T, w *segwriter.Writer) {}},
		{"directory moved", func(t *testing.T, w *segwriter.Writer) {
			for w.Len() < w.Room() {
				if _, err := w.AddScalar(fmt.Sprintf("/test/fill/%d", w.Len())); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"free slot reused", func(t *testing.T, w *segwriter.Writer) {
			g, err := w.AddGauge("/test/gone")
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Delete(); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTestWriter(t, segwriter.WriterOptions{Size: 1 << 20, Threads: 2})
			c, err := w.AddSimpleCounter("/node/errors", 4)
			if err != nil {
				t.Fatal(err)
			}
			c.Add(1, 3, 42)
			tc.prepare(t, w)
			r := connectTo(t, w)
			var s Snapshot
			if err := r.Snapshot(&s, nil); err != nil {
				t.Fatal(err)
			}
			epoch, dirLen, dirPtr := w.Epoch(), w.Len(), directoryPointer(w)

			h, err := w.AddSymlinkUnlocked("/err/ip4-input/drops", c.Index(), 3)
			if err != nil {
				t.Fatal(err)
			}
			if w.Epoch() != epoch {
				t.Fatal("AddSymlinkUnlocked moved the epoch; VPP's does not")
			}
			moved, grew := directoryPointer(w) != dirPtr, w.Len() != dirLen
			switch tc.name {
			case "appended":
				if moved || !grew {
					t.Fatalf("directory moved %v, grew %v: want appended in place", moved, grew)
				}
			case "directory moved":
				if !moved {
					t.Fatal("the directory did not move")
				}
			case "free slot reused":
				if moved || grew {
					t.Fatalf("directory moved %v, grew %v: want the free slot reused", moved, grew)
				}
			}

			if err := r.Snapshot(&s, nil); err != nil {
				t.Fatal(err)
			}
			if s.Dir.Epoch != epoch {
				t.Fatalf("snapshot at epoch %d, want %d", s.Dir.Epoch, epoch)
			}
			e, ok := s.Dir.Lookup("/err/ip4-input/drops")
			if !ok || e.Index != int(h.Index()) {
				t.Fatalf("the reader does not see the symlink added without an epoch change (found %v)", ok)
			}
			if v := s.Values[e.Index].Simple; len(v) != 2 || v[0][0] != 0 || v[1][0] != 42 {
				t.Errorf("symlink values %v, want [[0] [42]]", v)
			}
		})
	}
}
