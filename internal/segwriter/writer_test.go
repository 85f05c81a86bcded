package segwriter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/internal/statseg/layout"
)

func newTestWriter(t *testing.T, opts WriterOptions) *Writer {
	t.Helper()
	w, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// snapshotOf reads a copy of w with the package's reader.
func snapshotOf(t *testing.T, w *Writer) *statseg.Snapshot {
	t.Helper()
	r, err := statseg.FromBytes(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	var s statseg.Snapshot
	if err := r.Snapshot(&s, nil); err != nil {
		t.Fatal(err)
	}
	if len(s.Errs) != 0 {
		t.Fatalf("unreadable entries: %v", s.Errs)
	}
	return &s
}

// readAll reads every entry of r.
func readAll(t *testing.T, r *statseg.Reader) *statseg.Snapshot {
	t.Helper()
	var s statseg.Snapshot
	if err := r.Snapshot(&s, nil); err != nil {
		t.Fatal(err)
	}
	return &s
}

// dumpOf prints s as vpp_get_stats dump does.
func dumpOf(t *testing.T, s *statseg.Snapshot) string {
	t.Helper()
	var out strings.Builder
	if err := statseg.WriteDump(&out, s); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func lookup(t *testing.T, s *statseg.Snapshot, name string) (*statseg.Entry, *statseg.Value) {
	t.Helper()
	e, ok := s.Dir.Lookup(name)
	if !ok {
		t.Fatalf("%s not in the directory", name)
	}
	for i := range s.Dir.Entries {
		if &s.Dir.Entries[i] == e {
			return e, &s.Values[i]
		}
	}
	t.Fatalf("%s: entry not in Entries", name)
	return nil, nil
}

// seg decodes the raw layout of a segment, independently of the reader, to
// check what the writer laid down byte by byte.
type seg struct {
	b    []byte
	base uint64
}

func (s seg) u64(off uint64) uint64 { return binary.LittleEndian.Uint64(s.b[off:]) }
func (s seg) off(ptr uint64) uint64 { return ptr - s.base }

// vecHdr returns len, hdr_size, the align byte and grow_elts of the vector
// whose element 0 is at off.
func (s seg) vecHdr(off uint64) (n uint32, hdr, align, grow byte) {
	h := s.b[off-8 : off]
	return binary.LittleEndian.Uint32(h), h[4], h[5], h[6]
}

func (s seg) entry(i int) (layout.Type, uint64, string) {
	e := s.off(s.u64(layout.HeaderDirectory)) + uint64(i)*layout.EntrySize
	name := s.b[e+layout.EntryName : e+layout.EntrySize]
	for j, c := range name {
		if c == 0 {
			name = name[:j]
			break
		}
	}
	return layout.Type(binary.LittleEndian.Uint32(s.b[e:])), s.u64(e + layout.EntryUnion), string(name)
}

func TestWriterLayoutMatchesVPP(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: MinWriterSize, Threads: 2})
	sc := must[Scalar](t)(w.AddScalar("/sys/heartbeat"))
	sc.Set(42)
	c := must[SimpleCounter](t)(w.AddSimpleCounter("/if/drops", 3))
	c.Add(1, 2, 7)
	must[NameVector](t)(w.AddNameVector("/if/names", []string{"local0", "", "loop0"}))

	b := w.Bytes()
	s := seg{b: b, base: binary.LittleEndian.Uint64(b[layout.HeaderBase:])}
	if v := s.u64(layout.HeaderVersion); v != layout.SegmentVersion {
		t.Errorf("version %d", v)
	}
	if s.base != DefaultWriterBase || s.base%4096 != 0 {
		t.Errorf("base %#x", s.base)
	}
	if s.u64(layout.HeaderInProgress) != 0 || s.u64(layout.HeaderEpoch) != 3 {
		t.Errorf("in_progress %d epoch %d, want 0 and 3", s.u64(layout.HeaderInProgress), s.u64(layout.HeaderEpoch))
	}
	if s.u64(layout.HeaderSize) != 0 {
		t.Error("the word after the header must stay 0: govpp reads it as a legacy error vector")
	}

	// Directory: hdr_size 2, align byte 3, heap pointer in front.
	dir := s.off(s.u64(layout.HeaderDirectory))
	if n, hdr, align, _ := s.vecHdr(dir); n != 3 || hdr != 2 || align != 3 {
		t.Errorf("directory vec header: len %d hdr_size %d align %d", n, hdr, align)
	}
	if hp := s.u64(dir - 16); hp != s.base+fakeHeapOffset {
		t.Errorf("directory heap pointer %#x", hp)
	}

	typ, u, name := s.entry(0)
	if typ != layout.TypeScalar || u != 42 || name != "/sys/heartbeat" {
		t.Errorf("entry 0: %v %d %q", typ, u, name)
	}

	// Counter vectors: 64-byte headers, cache-line aligned data, align 0x86.
	typ, u, _ = s.entry(1)
	if typ != layout.TypeCounterSimple {
		t.Fatalf("entry 1 type %v", typ)
	}
	outer := s.off(u)
	if n, hdr, align, _ := s.vecHdr(outer); n != 2 || hdr != 8 || align != 134 || outer%64 != 0 {
		t.Errorf("thread vector at %#x: len %d hdr_size %d align %d", outer, n, hdr, align)
	}
	for th := range uint64(2) {
		row := s.off(s.u64(outer + 8*th))
		if n, hdr, align, _ := s.vecHdr(row); n != 3 || hdr != 8 || align != 134 || row%64 != 0 {
			t.Errorf("row %d at %#x: len %d hdr_size %d align %d", th, row, n, hdr, align)
		}
		if th == 1 && s.u64(row+16) != 7 {
			t.Errorf("[1][2] = %d, want 7", s.u64(row+16))
		}
	}

	// Name vector: 24-byte header with the entry index in front; strings
	// with 16-byte headers and the NUL counted in vec_len; NULL slots.
	typ, u, _ = s.entry(2)
	if typ != layout.TypeNameVector {
		t.Fatalf("entry 2 type %v", typ)
	}
	names := s.off(u)
	if n, hdr, align, _ := s.vecHdr(names); n != 3 || hdr != 3 || align != 3 {
		t.Errorf("name vector: len %d hdr_size %d align %d", n, hdr, align)
	}
	if idx := binary.LittleEndian.Uint32(b[names-24:]); idx != 2 {
		t.Errorf("name vector user header holds %d, want its entry index 2", idx)
	}
	if s.u64(names+8) != 0 {
		t.Error("empty name must be a NULL pointer")
	}
	str := s.off(s.u64(names))
	if n, hdr, align, _ := s.vecHdr(str); n != 7 || hdr != 2 || align != 3 || string(b[str:str+7]) != "local0\x00" {
		t.Errorf("string: len %d hdr_size %d align %d %q", n, hdr, align, b[str:str+7])
	}
}

func TestWriterRoundTrip(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: 1 << 20, Threads: 2})
	must[Scalar](t)(w.AddScalar("/sys/boottime")).Set(1_700_000_000)
	must[Scalar](t)(w.AddGauge("/sys/vector_rate")).Set(3)
	drops := must[SimpleCounter](t)(w.AddSimpleCounter("/if/drops", 3))
	rx := must[CombinedCounter](t)(w.AddCombinedCounter("/if/rx", 3))
	must[NameVector](t)(w.AddNameVector("/if/names", []string{"local0", "loop0", ""}))
	must[*Handle](t)(w.AddSymlink("/interfaces/loop0/rx", rx.Index(), 1))
	drops.Add(0, 1, 5)
	drops.Add(1, 1, 6)
	rx.Add(1, 1, 10, 640)
	rx.Set(0, 2, layout.Combined{Packets: 1, Bytes: 2})

	s := snapshotOf(t, w)
	if _, v := lookup(t, s, "/sys/boottime"); v.Scalar != 1_700_000_000 {
		t.Errorf("boottime %d", v.Scalar)
	}
	if e, v := lookup(t, s, "/sys/vector_rate"); e.Type != layout.TypeGauge || v.Scalar != 3 {
		t.Errorf("vector_rate %v %d", e.Type, v.Scalar)
	}
	if _, v := lookup(t, s, "/if/drops"); fmt.Sprint(v.Simple) != "[[0 5 0] [0 6 0]]" {
		t.Errorf("drops %v", v.Simple)
	}
	if _, v := lookup(t, s, "/if/rx"); fmt.Sprint(v.Combined) != "[[{0 0} {0 0} {1 2}] [{0 0} {10 640} {0 0}]]" {
		t.Errorf("rx %v", v.Combined)
	}
	if e, _ := lookup(t, s, "/if/names"); fmt.Sprint(e.Names, e.NullNames) != "[local0 loop0 ] [false false true]" {
		t.Errorf("names %q %v", e.Names, e.NullNames)
	}
	e, v := lookup(t, s, "/interfaces/loop0/rx")
	if e.Type != layout.TypeSymlink || e.Target != int(rx.Index()) || e.Column != 1 || fmt.Sprint(v.Combined) != "[[{0 0}] [{10 640}]]" {
		t.Errorf("symlink %+v %v", e, v.Combined)
	}
}

func TestWriterDeleteReusesSlots(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: MinWriterSize})
	var hs []Scalar
	for i := range 5 {
		hs = append(hs, must[Scalar](t)(w.AddScalar(fmt.Sprintf("/s/%d", i))))
	}
	c := must[SimpleCounter](t)(w.AddSimpleCounter("/c", 100))
	epoch := w.Epoch()
	if err := hs[1].Delete(); err != nil {
		t.Fatal(err)
	}
	if err := w.Delete(hs[3].Index()); err != nil {
		t.Fatal(err)
	}
	if err := w.Delete(c.Index()); err != nil {
		t.Fatal(err)
	}
	if w.Epoch() != epoch+3 {
		t.Errorf("epoch %d, want %d", w.Epoch(), epoch+3)
	}
	if err := w.Delete(hs[1].Index()); !errors.Is(err, ErrNoEntry) {
		t.Errorf("second delete: %v", err)
	}
	// Updates through a handle of a deleted entry are ignored.
	hs[1].Set(9)
	c.Add(0, 0, 1)

	// Empty slots: free list 5 -> 3 -> 1 -> end, names cleared, as VPP.
	s := seg{b: w.Bytes(), base: w.Base()}
	for _, want := range []struct {
		i    int
		next uint64
	}{{5, 3}, {3, 1}, {1, 0xffffffff}} {
		typ, u, name := s.entry(want.i)
		if typ != layout.TypeEmpty || u != want.next || name != "" {
			t.Errorf("slot %d: %v next %#x name %q", want.i, typ, u, name)
		}
	}
	snap := snapshotOf(t, w)
	if _, ok := snap.Dir.Lookup("/s/1"); ok {
		t.Error("deleted entry still listed")
	}
	if _, v := lookup(t, snap, "/s/4"); v.Scalar != 0 {
		t.Error("entry after an empty slot unreadable")
	}

	// New entries take the most recently freed slot first.
	for _, want := range []uint32{5, 3, 1, 6} {
		h := must[Scalar](t)(w.AddGauge(fmt.Sprintf("/g/%d", want)))
		if h.Index() != want {
			t.Errorf("new entry got slot %d, want %d", h.Index(), want)
		}
	}
	if _, err := w.AddScalar("/s/0"); !errors.Is(err, ErrNameInUse) {
		t.Errorf("duplicate name: %v", err)
	}
}

func TestWriterResizeAndDirectoryGrowth(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: 1 << 20, Threads: 3})
	c := must[CombinedCounter](t)(w.AddCombinedCounter("/if/tx", 2))
	for th := range 3 {
		c.Add(th, 1, uint64(th+1), 100)
	}
	dirBefore := binary.LittleEndian.Uint64(w.Mem()[layout.HeaderDirectory:])
	for i := range 300 {
		sym := must[*Handle](t)(w.AddSymlink(fmt.Sprintf("/interfaces/if%d/tx", i), c.Index(), uint32(i)))
		_ = sym
	}
	if dirAfter := binary.LittleEndian.Uint64(w.Mem()[layout.HeaderDirectory:]); dirAfter == dirBefore {
		t.Error("directory did not move while growing")
	}
	rowBefore := seg{b: w.Mem(), base: w.Base()}.u64(w.mustHandle(t, c.Index()).outer.data)
	epoch := w.Epoch()
	if err := c.Resize(300); err != nil {
		t.Fatal(err)
	}
	if w.Epoch() != epoch+1 {
		t.Error("resize did not bump the epoch")
	}
	if rowAfter := (seg{b: w.Mem(), base: w.Base()}).u64(w.mustHandle(t, c.Index()).outer.data); rowAfter == rowBefore {
		t.Error("resize did not move the rows")
	}
	c.Add(2, 299, 1, 1)

	s := snapshotOf(t, w)
	if len(s.Dir.Entries) != 301 {
		t.Errorf("%d entries", len(s.Dir.Entries))
	}
	_, v := lookup(t, s, "/interfaces/if1/tx")
	if fmt.Sprint(v.Combined) != "[[{1 100}] [{2 100}] [{3 100}]]" {
		t.Errorf("kept values %v", v.Combined)
	}
	if _, v := lookup(t, s, "/interfaces/if299/tx"); v.Combined[2][0] != (layout.Combined{Packets: 1, Bytes: 1}) {
		t.Errorf("new column %v", v.Combined)
	}

	if err := c.Resize(1); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 1 || c.Get(2, 0) != (layout.Combined{}) {
		t.Errorf("shrunk: len %d", c.Len())
	}
}

func (w *Writer) mustHandle(t *testing.T, i uint32) *Handle {
	t.Helper()
	w.mu.RLock()
	defer w.mu.RUnlock()
	h, ok := w.handles[i]
	if !ok {
		t.Fatalf("no handle %d", i)
	}
	return h
}

func TestWriterNames(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: MinWriterSize})
	nv := must[NameVector](t)(w.AddNameVector("/sys/node/names", nil))
	for i, n := range []string{"null-node", "ip4-input", "ip4-lookup"} {
		if err := nv.SetName(i, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := nv.SetName(6, "ethernet-input"); err != nil {
		t.Fatal(err)
	}
	if err := nv.SetName(1, "ip4-input-no-checksum"); err != nil {
		t.Fatal(err)
	}
	if err := nv.SetName(2, ""); err != nil {
		t.Fatal(err)
	}
	want := []string{"null-node", "ip4-input-no-checksum", "", "", "", "", "ethernet-input"}
	if fmt.Sprint(nv.Names()) != fmt.Sprint(want) {
		t.Errorf("Names() = %q", nv.Names())
	}
	e, _ := lookup(t, snapshotOf(t, w), "/sys/node/names")
	if fmt.Sprintf("%q", e.Names) != fmt.Sprintf("%q", want) || !e.NullNames[2] || e.NullNames[1] {
		t.Errorf("read back %q %v", e.Names, e.NullNames)
	}
}

func TestWriterSegmentFull(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: MinWriterSize})
	if _, err := w.AddSimpleCounter("/big", MinWriterSize/8); !errors.Is(err, ErrSegmentFull) {
		t.Fatalf("oversized counter: %v", err)
	}
	// A failed add leaves no trace: the name is free and memory returned.
	c := must[SimpleCounter](t)(w.AddSimpleCounter("/big", 1000))
	if err := c.Resize(MinWriterSize / 8); !errors.Is(err, ErrSegmentFull) {
		t.Fatalf("oversized resize: %v", err)
	}
	if c.Len() != 1000 {
		t.Errorf("failed resize changed the length to %d", c.Len())
	}
	for _, bad := range []string{"", string(make([]byte, 128)), "a\x00b"} {
		if _, err := w.AddScalar(bad); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if _, err := NewWriter(WriterOptions{Size: 4096}); err == nil {
		t.Error("tiny segment accepted")
	}
}

func TestWriterAllocatorReuse(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: MinWriterSize})
	// Without reuse of freed memory, 200 resizes of a 4 KiB counter would
	// need 800 KiB.
	c := must[SimpleCounter](t)(w.AddSimpleCounter("/c", 500))
	for i := range 200 {
		if err := c.Resize(500 + i%3); err != nil {
			t.Fatalf("resize %d: %v", i, err)
		}
	}
	if err := c.Delete(); err != nil {
		t.Fatal(err)
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if len(w.heap.holes) != 0 {
		t.Errorf("free list not coalesced: %v", w.heap.holes)
	}
}

// TestWriterConcurrentUpdates runs counter updates from many goroutines
// while directory changes move the very vectors they update.
func TestWriterConcurrentUpdates(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: 4 << 20, Threads: 4})
	c := must[CombinedCounter](t)(w.AddCombinedCounter("/if/rx", 1))
	const perWorker = 2000
	var wg sync.WaitGroup
	for th := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				c.Add(th, 0, 1, 64)
			}
		}()
	}
	for i := range 100 {
		if err := c.Resize(2 + i); err != nil {
			t.Fatal(err)
		}
		must[Scalar](t)(w.AddScalar(fmt.Sprintf("/x/%d", i)))
		_ = w.Bytes()
	}
	wg.Wait()
	for th := range 4 {
		if got := c.Get(th, 0); got != (layout.Combined{Packets: perWorker, Bytes: 64 * perWorker}) {
			t.Errorf("thread %d: %+v", th, got)
		}
	}
}

func TestWriterClearAndClose(t *testing.T) {
	w, err := NewWriter(WriterOptions{Size: MinWriterSize, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	c := must[SimpleCounter](t)(w.AddSimpleCounter("/c", 4))
	c.Add(1, 3, 9)
	epoch := w.Epoch()
	c.Clear()
	if c.Get(1, 3) != 0 || w.Epoch() != epoch {
		t.Error("Clear must zero counters in place without a directory change")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Add(0, 0, 1) // ignored, no crash
	if _, err := w.AddScalar("/late"); !errors.Is(err, ErrWriterClosed) {
		t.Errorf("add after close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func TestWriterHistogramLog2(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: MinWriterSize, Threads: 2})
	hg := must[HistogramLog2](t)(w.AddHistogramLog2("/sys/latency", 4, 5))
	for _, v := range []uint64{0, 3, 16, 31, 32, 1 << 20} {
		hg.Observe(1, v)
	}
	hg.AddBin(0, 2, 7)
	// Bins: [2^4,2^5) and below -> 0; [2^5,2^6) -> 1; 2^20 clamps to 4.
	s := snapshotOf(t, w)
	e, v := lookup(t, s, "/sys/latency")
	if e.Type != layout.TypeHistogramLog2 || fmt.Sprint(v.Histogram) != "[[4 0 0 7 0 0] [4 4 1 0 0 1]]" {
		t.Errorf("%v %v", e.Type, v.Histogram)
	}
	hg.Clear()
	if hg.Get(1, 0) != 0 || binary.LittleEndian.Uint64(w.Bytes()[0:]) != layout.SegmentVersion {
		t.Error("clear")
	}
	if _, v := lookup(t, snapshotOf(t, w), "/sys/latency"); fmt.Sprint(v.Histogram) != "[[4 0 0 0 0 0] [4 0 0 0 0 0]]" {
		t.Errorf("after clear %v", v.Histogram)
	}
	if _, err := w.AddHistogramLog2("/bad", 0, 0); err == nil {
		t.Error("0 bins accepted")
	}
}

// TestWriterResizeGrowsInPlace: growing a counter one cell at a time (as
// VPP does per new interface) moves its rows only now and then, as
// vec_validate does, keeps every value, and starts new cells at zero even
// where a shrink left old values behind.
func TestWriterResizeGrowsInPlace(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: 4 << 20, Threads: 2})
	c := must[SimpleCounter](t)(w.AddSimpleCounter("/if/drops", 1))
	moves := 0
	row := func() uint64 { return w.mustHandle(t, c.Index()).rows[1].data }
	for n := 2; n <= 1000; n++ {
		before, epoch := row(), w.Epoch()
		if err := c.Resize(n); err != nil {
			t.Fatal(err)
		}
		if w.Epoch() != epoch+1 {
			t.Fatalf("resize to %d did not bump the epoch", n)
		}
		if row() != before {
			moves++
		}
		c.Set(1, n-1, uint64(n))
	}
	if moves > 20 {
		t.Errorf("1000 one-cell resizes moved the rows %d times: not geometric", moves)
	}
	for i := 1; i < 1000; i++ {
		if got := c.Get(1, i); got != uint64(i+1) {
			t.Fatalf("cell %d = %d after growing, want %d", i, got, i+1)
		}
	}
	if err := c.Resize(10); err != nil {
		t.Fatal(err)
	}
	if err := c.Resize(20); err != nil {
		t.Fatal(err)
	}
	if got := c.Get(1, 15); got != 0 {
		t.Errorf("a cell regrown after a shrink reads %d, want 0", got)
	}
	s := snapshotOf(t, w)
	if _, v := lookup(t, s, "/if/drops"); len(v.Simple[1]) != 20 || v.Simple[1][9] != 10 {
		t.Errorf("reader sees %d cells, cell 9 = %d; want 20 cells, 10", len(v.Simple[1]), v.Simple[1][9])
	}
}
