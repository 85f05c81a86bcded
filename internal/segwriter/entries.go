package segwriter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"

	"github.com/vppstats/vppstats/internal/statseg/layout"
)

// Entries: the handles of directory entries, adding them, and the counter,
// histogram and name updates made through them.

// Handle is an entry of the directory. Typed handles embed it.
type Handle struct {
	w       *Writer
	index   uint32
	name    string
	typ     layout.Type
	deleted bool

	// Vector entries only.
	outer wvec   // per-thread pointers, or string pointers
	rows  []wvec // counter rows, or strings (zero block for a NULL slot)
	n     int    // columns of counter rows

	minExp uint64 // histograms only
}

// Index returns the entry's position in the directory (the symlink target).
func (h *Handle) Index() uint32 { return h.index }

// Name returns the entry's name.
func (h *Handle) Name() string { return h.name }

// Type returns the entry's type.
func (h *Handle) Type() layout.Type { return h.typ }

// Delete removes the entry, as Writer.Delete.
func (h *Handle) Delete() error { return h.w.Delete(h.index) }

// Scalar is a scalar (type 1) or gauge (type 9) entry: one u64 in the
// directory entry itself.
type Scalar struct{ *Handle }

// Set stores v. VPP stores timestamps and rates as whole numbers here.
func (s Scalar) Set(v uint64) {
	w := s.w
	w.mu.RLock()
	defer w.mu.RUnlock()
	if s.deleted || w.closed {
		return
	}
	atomic.StoreUint64(w.word(w.entryOffset(s.index)+layout.EntryUnion), v)
}

// Get returns the stored value.
func (s Scalar) Get() uint64 {
	w := s.w
	w.mu.RLock()
	defer w.mu.RUnlock()
	if s.deleted || w.closed {
		return 0
	}
	return atomic.LoadUint64(w.word(w.entryOffset(s.index) + layout.EntryUnion))
}

// SimpleCounter is a simple counter vector (type 2): [thread][index]u64.
type SimpleCounter struct{ *Handle }

// CombinedCounter is a combined counter vector (type 3):
// [thread][index]{packets, bytes}.
type CombinedCounter struct{ *Handle }

// HistogramLog2 is a log2 histogram (type 7, VPP v26.02 and later):
// [thread][1+bins]u64, element 0 of every row holding min_exp and element
// 1+j counting values v with floor(log2 v) = min_exp+j (the first and last
// bins also take values below and above), as vlib's log2 histograms do.
type HistogramLog2 struct{ *Handle }

// NameVector is a name vector (type 4): [index] name.
type NameVector struct{ *Handle }

// AddScalar registers a scalar entry (type 1) holding 0.
func (w *Writer) AddScalar(name string) (Scalar, error) {
	h, err := w.addEntry(name, layout.TypeScalar, 0)
	return Scalar{h}, err
}

// AddGauge registers a gauge entry (type 9, VPP v26.02 and later) holding 0.
func (w *Writer) AddGauge(name string) (Scalar, error) {
	h, err := w.addEntry(name, layout.TypeGauge, 0)
	return Scalar{h}, err
}

// AddSymlink registers a symlink (type 6) to column of the entry at index
// target, under the segment lock as VPP's interface code does around
// vlib_stats_add_symlink: readers see in_progress and a new epoch. Like VPP,
// it does not check the target, so tests can publish dangling links.
func (w *Writer) AddSymlink(name string, target uint32, column uint32) (*Handle, error) {
	return w.addEntry(name, layout.TypeSymlink, symlinkUnion(target, column))
}

// AddSymlinkUnlocked registers a symlink the way vlib_stats_add_symlink
// itself does, for callers that hold no segment lock: it takes a free slot
// or appends one (moving the directory when it is full) and republishes the
// directory pointer, without raising in_progress or bumping the epoch. A
// reader must notice the change from the directory alone.
func (w *Writer) AddSymlinkUnlocked(name string, target uint32, column uint32) (*Handle, error) {
	if err := w.checkNewName(name); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, ErrWriterClosed
	}
	return w.newEntry(name, layout.TypeSymlink, symlinkUnion(target, column))
}

// symlinkUnion packs a symlink's target index (index1) and column (index2).
func symlinkUnion(target, column uint32) uint64 { return uint64(target) | uint64(column)<<32 }

// AddSimpleCounter registers a simple counter vector with Threads() rows of
// n zeroed counters.
func (w *Writer) AddSimpleCounter(name string, n int) (SimpleCounter, error) {
	return w.AddSimpleCounterRows(name, w.threads, n)
}

// AddSimpleCounterRows is AddSimpleCounter with its own number of thread
// rows: VPP publishes some vectors (/mem/*, /sys/*_per_worker) with one row,
// and node counters with one row more than there are threads.
func (w *Writer) AddSimpleCounterRows(name string, rows, n int) (SimpleCounter, error) {
	h, err := w.addCounter(name, layout.TypeCounterSimple, rows, n)
	return SimpleCounter{h}, err
}

// AddCombinedCounter registers a combined counter vector with Threads() rows
// of n zeroed counters.
func (w *Writer) AddCombinedCounter(name string, n int) (CombinedCounter, error) {
	h, err := w.addCounter(name, layout.TypeCounterCombined, w.threads, n)
	return CombinedCounter{h}, err
}

// AddHistogramLog2 registers a log2 histogram with Threads() rows of bins
// counters for values from 2^minExp up.
func (w *Writer) AddHistogramLog2(name string, minExp, bins int) (HistogramLog2, error) {
	if minExp < 0 || minExp > 63 || bins < 1 || bins > 64 {
		return HistogramLog2{}, fmt.Errorf("segwriter: histogram %q: min_exp %d, %d bins out of range", name, minExp, bins)
	}
	h, err := w.addCounter(name, layout.TypeHistogramLog2, w.threads, bins+1)
	if err != nil {
		return HistogramLog2{}, err
	}
	h.minExp = uint64(minExp)
	hg := HistogramLog2{h}
	hg.setMinExp()
	return hg, nil
}

// AddNameVector registers a name vector holding names. An empty string is a
// NULL slot, as when VPP sets a string vector element to an empty format.
func (w *Writer) AddNameVector(name string, names []string) (NameVector, error) {
	if err := w.checkNewName(name); err != nil {
		return NameVector{}, err
	}
	done, err := w.lockChange()
	if err != nil {
		return NameVector{}, err
	}
	defer done()

	h, err := w.newEntry(name, layout.TypeNameVector, 0)
	if err != nil {
		return NameVector{}, err
	}
	h.outer, err = w.allocVec(layout.PointerSize, len(names), len(names)+len(names)/2+1, nameVecHeader, alignHeap)
	if err != nil {
		w.removeEntry(h)
		return NameVector{}, err
	}
	// vlib_stats_header_t: the vector knows its own directory entry.
	binary.LittleEndian.PutUint32(w.mem[h.outer.data-nameVecHeader:], h.index)
	h.rows = make([]wvec, len(names))
	for i, s := range names {
		if err := w.setString(h, i, s); err != nil {
			w.removeEntry(h)
			return NameVector{}, err
		}
	}
	w.storeUnion(h.index, w.ptr(h.outer.data))
	return NameVector{h}, nil
}

// Delete removes the entry at index and frees its vectors. The slot becomes
// TypeEmpty and heads the free list, so the next new entry reuses it, as in
// VPP. Symlinks pointing at the entry are left alone, as VPP does.
func (w *Writer) Delete(index uint32) error {
	done, err := w.lockChange()
	if err != nil {
		return err
	}
	defer done()
	h, ok := w.handles[index]
	if !ok {
		return fmt.Errorf("%w: index %d", ErrNoEntry, index)
	}
	w.removeEntry(h)
	return nil
}

// Lookup returns the handle of the entry called name.
func (w *Writer) Lookup(name string) (*Handle, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	i, ok := w.byName[name]
	if !ok {
		return nil, false
	}
	return w.handles[i], true
}

// Room returns the number of directory slots the directory holds before
// the next new entry moves it, empty ones included.
func (w *Writer) Room() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.dir.cap
}

// Len returns the number of directory slots, empty ones included.
func (w *Writer) Len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return 0
	}
	return w.vecLen(w.dir)
}

// Len returns the number of counters per thread row.
func (c SimpleCounter) Len() int { return c.length() }

// Rows returns the number of thread rows.
func (c SimpleCounter) Rows() int { return c.rowCount() }

// Add adds delta to the counter of thread at index. It panics if thread or
// index is out of range, like a slice index; it does nothing once the entry
// is deleted.
func (c SimpleCounter) Add(thread, index int, delta uint64) {
	c.update(thread, index, 0, func(p *uint64) { atomic.AddUint64(p, delta) })
}

// Set stores v in the counter of thread at index.
func (c SimpleCounter) Set(thread, index int, v uint64) {
	c.update(thread, index, 0, func(p *uint64) { atomic.StoreUint64(p, v) })
}

// Get returns the counter of thread at index.
func (c SimpleCounter) Get(thread, index int) (v uint64) {
	c.update(thread, index, 0, func(p *uint64) { v = atomic.LoadUint64(p) })
	return v
}

// Resize changes the number of counters per row to n, keeping the first
// min(n, Len()) values, by moving every row to new memory as
// vlib_validate_simple_counter does when a vector outgrows its allocation.
func (c SimpleCounter) Resize(n int) error { return c.resize(n) }

// Clear zeroes every counter in place without touching the directory, as
// `clear interfaces` does.
func (c SimpleCounter) Clear() { c.clear() }

// Len returns the number of counters per thread row.
func (c CombinedCounter) Len() int { return c.length() }

// Rows returns the number of thread rows.
func (c CombinedCounter) Rows() int { return c.rowCount() }

// Add adds packets and bytes to the counter of thread at index. The two
// words are stored one after the other, so a reader may see one without the
// other, as with VPP.
func (c CombinedCounter) Add(thread, index int, packets, bytes uint64) {
	c.update(thread, index, 0, func(p *uint64) { atomic.AddUint64(p, packets) })
	c.update(thread, index, 8, func(p *uint64) { atomic.AddUint64(p, bytes) })
}

// Set stores v in the counter of thread at index.
func (c CombinedCounter) Set(thread, index int, v layout.Combined) {
	c.update(thread, index, 0, func(p *uint64) { atomic.StoreUint64(p, v.Packets) })
	c.update(thread, index, 8, func(p *uint64) { atomic.StoreUint64(p, v.Bytes) })
}

// Get returns the counter of thread at index.
func (c CombinedCounter) Get(thread, index int) (v layout.Combined) {
	c.update(thread, index, 0, func(p *uint64) { v.Packets = atomic.LoadUint64(p) })
	c.update(thread, index, 8, func(p *uint64) { v.Bytes = atomic.LoadUint64(p) })
	return v
}

// Resize changes the number of counters per row to n (see
// SimpleCounter.Resize).
func (c CombinedCounter) Resize(n int) error { return c.resize(n) }

// Clear zeroes every counter in place.
func (c CombinedCounter) Clear() { c.clear() }

// Bins returns the number of bins.
func (hg HistogramLog2) Bins() int { return hg.length() - 1 }

// Observe counts v in thread's row.
func (hg HistogramLog2) Observe(thread int, v uint64) {
	bin := 0
	if v > 0 {
		bin = bits.Len64(v) - 1 - int(hg.minExp)
	}
	hg.AddBin(thread, min(max(bin, 0), hg.Bins()-1), 1)
}

// AddBin adds n to bin (0-based) of thread's row.
func (hg HistogramLog2) AddBin(thread, bin int, n uint64) {
	hg.update(thread, bin+1, 0, func(p *uint64) { atomic.AddUint64(p, n) })
}

// Get returns the count of bin (0-based) in thread's row.
func (hg HistogramLog2) Get(thread, bin int) (v uint64) {
	hg.update(thread, bin+1, 0, func(p *uint64) { v = atomic.LoadUint64(p) })
	return v
}

// Clear zeroes the counts, keeping min_exp.
func (hg HistogramLog2) Clear() {
	hg.clear()
	hg.setMinExp()
}

func (hg HistogramLog2) setMinExp() {
	for th := range hg.rowCount() {
		hg.update(th, 0, 0, func(p *uint64) { atomic.StoreUint64(p, hg.minExp) })
	}
}

// Len returns the number of slots.
func (v NameVector) Len() int {
	v.w.mu.RLock()
	defer v.w.mu.RUnlock()
	return len(v.rows)
}

// SetName stores name at index, growing the vector (new slots NULL) if
// needed. An empty name makes the slot NULL.
func (v NameVector) SetName(index int, name string) error {
	w := v.w
	if index < 0 || index >= 1<<24 {
		return fmt.Errorf("segwriter: name index %d out of range", index)
	}
	done, err := w.lockChange()
	if err != nil {
		return err
	}
	defer done()
	if v.deleted {
		return ErrEntryDeleted
	}
	if index >= len(v.rows) {
		if err := w.growNames(v.Handle, index+1); err != nil {
			return err
		}
	}
	return w.setString(v.Handle, index, name)
}

// Names returns the stored names ("" for NULL slots).
func (v NameVector) Names() []string {
	w := v.w
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]string, len(v.rows))
	for i, s := range v.rows {
		if s.block != 0 {
			n := w.vecLen(s)
			if n > 0 {
				n-- // the terminating NUL
			}
			out[i] = string(w.mem[s.data : s.data+uint64(n)])
		}
	}
	return out
}

func (h *Handle) counterSize() int { return layout.CellSize(h.typ) }

func (h *Handle) length() int {
	h.w.mu.RLock()
	defer h.w.mu.RUnlock()
	return h.n
}

func (h *Handle) rowCount() int {
	h.w.mu.RLock()
	defer h.w.mu.RUnlock()
	return len(h.rows)
}

// update runs fn on the word at byte off of cell [thread][index], holding
// the writer's lock for reading so that the row cannot move meanwhile.
func (h *Handle) update(thread, index, off int, fn func(*uint64)) {
	w := h.w
	w.mu.RLock()
	if h.deleted || w.closed {
		w.mu.RUnlock()
		return
	}
	if thread < 0 || thread >= len(h.rows) || index < 0 || index >= h.n {
		rows, n := len(h.rows), h.n
		w.mu.RUnlock()
		panic(fmt.Sprintf("segwriter: %s[%d][%d] out of range [%d][%d]", h.name, thread, index, rows, n))
	}
	fn(w.word(h.rows[thread].data + uint64(index*h.counterSize()+off)))
	w.mu.RUnlock()
}

func (h *Handle) clear() {
	w := h.w
	w.mu.RLock()
	defer w.mu.RUnlock()
	if h.deleted || w.closed {
		return
	}
	for _, r := range h.rows {
		for off := 0; off < h.n*h.counterSize(); off += 8 {
			atomic.StoreUint64(w.word(r.data+uint64(off)), 0)
		}
	}
}

func (h *Handle) resize(n int) error {
	if n < 0 || n > 1<<26 {
		return fmt.Errorf("segwriter: counter size %d out of range", n)
	}
	w := h.w
	done, err := w.lockChange()
	if err != nil {
		return err
	}
	defer done()
	if h.deleted {
		return ErrEntryDeleted
	}

	sz := h.counterSize()
	if h.fits(n) {
		// Like vec_validate within a vector's capacity: the rows stay in
		// place, new cells start at zero. Growing one interface at a time
		// is then linear, as in VPP.
		for i := range h.rows {
			r := &h.rows[i]
			if n > h.n {
				clear(w.mem[r.data+uint64(h.n*sz) : r.data+uint64(n*sz)])
			}
			w.setVecLen(r, n)
		}
		h.n = n
		return nil
	}
	// Allocate every new row first so that running out of room leaves the
	// counter as it was. Rows get room to grow by half again, as vppinfra
	// gives a vector it reallocates; without room, exactly n.
	fresh, err := h.allocRows(n, n+n/2)
	if errors.Is(err, ErrSegmentFull) {
		fresh, err = h.allocRows(n, n)
	}
	if err != nil {
		return err
	}
	keep := uint64(min(n, h.n) * sz)
	for i, old := range h.rows {
		copy(w.mem[fresh[i].data:fresh[i].data+keep], w.mem[old.data:old.data+keep])
		w.storePtr(h.outer.data+uint64(i)*layout.PointerSize, w.ptr(fresh[i].data))
		w.free(old)
	}
	h.rows, h.n = fresh, n
	return nil
}

// fits reports whether every row has room for n cells.
func (h *Handle) fits(n int) bool {
	for _, r := range h.rows {
		if r.cap < n {
			return false
		}
	}
	return true
}

// allocRows allocates a new set of rows of n cells with room for capacity,
// or none at all.
func (h *Handle) allocRows(n, capacity int) ([]wvec, error) {
	fresh := make([]wvec, len(h.rows))
	for i := range fresh {
		r, err := h.w.allocVec(h.counterSize(), n, capacity, counterVecHeader, alignCounter)
		if err != nil {
			for _, f := range fresh[:i] {
				h.w.free(f)
			}
			return nil, err
		}
		fresh[i] = r
	}
	return fresh, nil
}

// ---- name vectors ----

// growNames extends a name vector to n slots (new ones NULL), moving it if
// it is out of room. Called locked, in progress.
func (w *Writer) growNames(h *Handle, n int) error {
	if n > h.outer.cap {
		nv, err := w.allocVec(layout.PointerSize, len(h.rows), n+n/2, nameVecHeader, alignHeap)
		if err != nil {
			return err
		}
		copy(w.mem[nv.data-nameVecHeader:nv.data-nameVecHeader+8], w.mem[h.outer.data-nameVecHeader:])
		copy(w.mem[nv.data:nv.data+uint64(len(h.rows)*layout.PointerSize)], w.mem[h.outer.data:])
		w.storeUnion(h.index, w.ptr(nv.data))
		w.free(h.outer)
		h.outer = nv
	}
	w.setVecLen(&h.outer, n)
	h.rows = append(h.rows, make([]wvec, n-len(h.rows))...)
	return nil
}

// setString replaces the string at index i with s (NULL if empty). Like
// VPP's, the u8 vector includes the terminating NUL in its length.
func (w *Writer) setString(h *Handle, i int, s string) error {
	slot := h.outer.data + uint64(i)*layout.PointerSize
	if s == "" {
		w.storePtr(slot, 0)
	} else {
		v, err := w.allocVec(1, len(s)+1, len(s)+1, heapVecHeader, alignHeap)
		if err != nil {
			return err
		}
		copy(w.mem[v.data:], s)
		w.mem[v.data+uint64(len(s))] = 0
		w.storePtr(slot, w.ptr(v.data))
		if old := h.rows[i]; old.block != 0 {
			w.free(old)
		}
		h.rows[i] = v
		return nil
	}
	if old := h.rows[i]; old.block != 0 {
		w.free(old)
	}
	h.rows[i] = wvec{}
	return nil
}
