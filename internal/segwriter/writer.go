package segwriter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vppstats/vppstats/internal/statseg/layout"
)

// The writer lays vectors out the way VPP's vppinfra does in the captures
// under testdata/vpp, so that VPP's own C client could read our segments:
//
//   - the directory and every name string live on the stats heap: 16 header
//     bytes (a pointer to the heap, then vec_header_t), 8-byte alignment,
//     default_heap bit clear (hdr_size 2, align byte 3);
//   - a name vector (vector of string pointers) also carries a user header
//     holding its own directory index (vlib_stats_header_t), so 24 header
//     bytes (hdr_size 3, align byte 3);
//   - counter vectors (the per-thread pointer vector and every thread's row)
//     are cache-line aligned with a 64-byte header and the default_heap bit
//     set (hdr_size 8, align byte 0x86).
const (
	// DefaultWriterSize is VPP's default `statseg { size }`.
	DefaultWriterSize = 16 << 20
	// MinWriterSize leaves room for the header, the fake heap page and a
	// few vectors; tests use small segments to exercise exhaustion.
	MinWriterSize = 64 << 10
	// DefaultWriterBase is a plausible address of a mapping in VPP.
	DefaultWriterBase = 0x7f5f1e800000

	writerPageSize = 4096

	// The heap pointer stored in front of heap vectors points at a fake
	// mspace header in the first page after the shared header; the
	// wheap hands out memory from heapStart on.
	fakeHeapOffset = 0x13c0
	heapStart      = 2 * writerPageSize

	writerBlockAlign = 64 // every allocation is cache-line sized and aligned

	heapVecHeader    = 16 // heap pointer + vec_header_t
	nameVecHeader    = 24 // user header (entry index) + heap pointer + vec_header_t
	counterVecHeader = 64 // cache-line aligned data

	alignHeap    = 3        // log2(8), default_heap bit clear
	alignCounter = 6 | 0x80 // log2(64), default_heap bit set

	// freeListEnd terminates the directory's free list (CLIB_U32_MAX).
	freeListEnd = ^uint32(0)

	// MaxNameLen is the longest entry name VPP accepts (the name field keeps
	// its terminating NUL).
	MaxNameLen = layout.EntryNameSize - 1
)

// Errors returned by the Writer.
var (
	ErrSegmentFull   = errors.New("segwriter: segment full")
	ErrNameInUse     = errors.New("segwriter: entry name already registered")
	ErrNoEntry       = errors.New("segwriter: no such entry")
	ErrWriterClosed  = errors.New("segwriter: closed")
	ErrEntryDeleted  = errors.New("segwriter: entry was deleted")
	errBadNameLength = fmt.Errorf("segwriter: entry name must be 1 to %d bytes", MaxNameLen)
)

// WriterOptions configure NewWriter. The zero value gives VPP's defaults.
type WriterOptions struct {
	// Size of the segment in bytes, rounded up to a page; 0 means
	// DefaultWriterSize, and it must be at least MinWriterSize.
	Size int
	// Threads is the number of thread rows of counter vectors (main thread
	// plus workers); 0 means 1.
	Threads int
	// Base is the fake VPP address of the segment stored in the header; 0
	// means DefaultWriterBase. It must be page aligned.
	Base uint64
}

// Writer is the producer side of a stats segment, like VPP's
// src/vlib/stats/stats.c: it owns a memfd mapped read-write and publishes
// entries in it following VPP's locking protocol.
//
// Directory changes (adding, deleting, resizing, setting names) serialize on
// an internal lock and are announced to readers with in_progress and epoch,
// exactly as VPP does. Counter updates (Add, Set) may run concurrently from
// any number of goroutines: they are plain atomic stores into the mapping,
// like VPP's workers, and only wait while a change moves memory they use.
type Writer struct {
	// mu is held for writing by directory changes and for reading by counter
	// updates, so that a Resize or Delete never frees a row a concurrent Add
	// is about to write into.
	mu sync.RWMutex

	fd      int
	mem     []byte
	base    uint64
	threads int
	closed  bool

	heap wheap

	dir       wvec
	firstFree uint32
	byName    map[string]uint32
	handles   map[uint32]*Handle
}

// wvec is a vector allocated in the segment. data is the offset of element 0.
type wvec struct {
	block, blockSize uint64
	data             uint64
	elt              int
	cap              int
}

// NewWriter creates a fresh, empty segment in a new memfd.
func NewWriter(opts WriterOptions) (*Writer, error) {
	size := opts.Size
	if size == 0 {
		size = DefaultWriterSize
	}
	if size < MinWriterSize {
		return nil, fmt.Errorf("segwriter: size %d is below the minimum %d", size, MinWriterSize)
	}
	size = (size + writerPageSize - 1) &^ (writerPageSize - 1)
	threads := opts.Threads
	if threads == 0 {
		threads = 1
	}
	if threads < 0 || threads > 1024 {
		return nil, fmt.Errorf("segwriter: %d threads is out of range", threads)
	}
	base := opts.Base
	if base == 0 {
		base = DefaultWriterBase
	}
	if base%writerPageSize != 0 {
		return nil, fmt.Errorf("segwriter: base %#x is not page aligned", base)
	}

	fd, err := unix.MemfdCreate("vpp stats segment", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("segwriter: memfd_create: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("segwriter: ftruncate: %w", err)
	}
	// Readers learn the size with fstat and must not see it change under
	// their mapping, as with VPP's fixed-size segment.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("segwriter: sealing memfd: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("segwriter: mmap: %w", err)
	}

	w := &Writer{
		fd:        fd,
		mem:       mem,
		base:      base,
		threads:   threads,
		heap:      wheap{next: heapStart, end: uint64(size)},
		firstFree: freeListEnd,
		byName:    make(map[string]uint32),
		handles:   make(map[uint32]*Handle),
	}
	binary.LittleEndian.PutUint64(mem[layout.HeaderVersion:], layout.SegmentVersion)
	binary.LittleEndian.PutUint64(mem[layout.HeaderBase:], base)

	// VPP creates the directory before registering anything; start with
	// room for a few dozen entries so that early growth is exercised.
	w.dir, err = w.allocVec(layout.EntrySize, 0, 32, heapVecHeader, alignHeap)
	if err != nil {
		w.Close()
		return nil, err
	}
	w.storeHeader(layout.HeaderDirectory, w.ptr(w.dir.data))
	return w, nil
}

// Close unmaps the segment and closes the memfd. Readers that already
// mapped it keep a frozen copy, as after a VPP exit.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := unix.Munmap(w.mem)
	w.mem = nil
	if cerr := unix.Close(w.fd); err == nil {
		err = cerr
	}
	return err
}

// Fd returns the memfd, to be passed to stats clients (see Server).
// It stays owned by the Writer.
func (w *Writer) Fd() int { return w.fd }

// Size returns the size of the segment in bytes.
func (w *Writer) Size() int { return len(w.mem) }

// Base returns the fake VPP address of the segment.
func (w *Writer) Base() uint64 { return w.base }

// Threads returns the default number of thread rows of counter vectors.
func (w *Writer) Threads() int { return w.threads }

// Epoch returns the current epoch.
func (w *Writer) Epoch() uint64 {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return 0
	}
	return atomic.LoadUint64(w.word(layout.HeaderEpoch))
}

// Bytes returns a consistent copy of the whole segment (in_progress 0, no
// counter update half-done), for captures and for FromBytes.
func (w *Writer) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	return append([]byte(nil), w.mem...)
}

// WriteTo writes a consistent copy of the segment to dst.
func (w *Writer) WriteTo(dst io.Writer) (int64, error) {
	b := w.Bytes()
	if b == nil {
		return 0, ErrWriterClosed
	}
	n, err := dst.Write(b)
	return int64(n), err
}

// MemUsage reports the segment's heap as VPP's /mem/stat segment does:
// total bytes, bytes in use (vectors, the header and the heap's own page)
// and bytes free.
func (w *Writer) MemUsage() (total, used, free uint64) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	total = uint64(len(w.mem))
	free = total - w.heap.next
	for _, h := range w.heap.holes {
		free += h.size
	}
	return total, total - free, free
}

// Mem returns the live mapping. Writes to it bypass every rule of the
// protocol: it exists for fault-injection tests (corrupt pointers, torn
// vectors) and nothing else.
func (w *Writer) Mem() []byte { return w.mem }

// HoldLock marks the directory as being changed (in_progress = 1) until the
// returned function is called, which bumps the epoch and clears in_progress.
// It lets tests show readers a VPP stuck in the middle of a change. No
// other directory change may happen in between.
func (w *Writer) HoldLock() (release func()) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return func() {}
	}
	w.begin()
	var once sync.Once
	return func() {
		once.Do(func() {
			w.end()
			w.mu.Unlock()
		})
	}
}

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

// ---- directory ----

func (w *Writer) checkNewName(name string) error {
	if len(name) == 0 || len(name) > MaxNameLen {
		return errBadNameLength
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 {
			return fmt.Errorf("segwriter: entry name %q contains NUL", name)
		}
	}
	return nil
}

// addEntry registers an entry whose union is a plain value.
func (w *Writer) addEntry(name string, t layout.Type, union uint64) (*Handle, error) {
	if err := w.checkNewName(name); err != nil {
		return nil, err
	}
	done, err := w.lockChange()
	if err != nil {
		return nil, err
	}
	defer done()
	return w.newEntry(name, t, union)
}

func (w *Writer) addCounter(name string, t layout.Type, rows, n int) (*Handle, error) {
	if err := w.checkNewName(name); err != nil {
		return nil, err
	}
	if rows < 1 || rows > 1024 || n < 0 || n > 1<<26 {
		return nil, fmt.Errorf("segwriter: counter %q: %d rows of %d out of range", name, rows, n)
	}
	done, err := w.lockChange()
	if err != nil {
		return nil, err
	}
	defer done()

	h, err := w.newEntry(name, t, 0)
	if err != nil {
		return nil, err
	}
	h.n = n
	h.outer, err = w.allocVec(layout.PointerSize, rows, rows, counterVecHeader, alignCounter)
	if err != nil {
		w.removeEntry(h)
		return nil, err
	}
	h.rows = make([]wvec, rows)
	for i := range h.rows {
		r, err := w.allocVec(h.counterSize(), n, n, counterVecHeader, alignCounter)
		if err != nil {
			w.removeEntry(h)
			return nil, err
		}
		h.rows[i] = r
		w.storePtr(h.outer.data+uint64(i)*layout.PointerSize, w.ptr(r.data))
	}
	w.storeUnion(h.index, w.ptr(h.outer.data))
	return h, nil
}

// newEntry takes a slot from the free list, or appends one (moving the
// directory when it is full), and fills it. Called locked, in progress.
func (w *Writer) newEntry(name string, t layout.Type, union uint64) (*Handle, error) {
	if _, dup := w.byName[name]; dup {
		return nil, fmt.Errorf("%w: %q", ErrNameInUse, name)
	}
	// The entry is filled before it becomes visible (the directory's length
	// grows after it) and, in a reused slot, its type is stored last: a
	// reader that does not wait for in_progress (AddSymlinkUnlocked) sees
	// the slot empty or complete.
	var index uint32
	appended := false
	if w.firstFree != freeListEnd {
		index = w.firstFree
		w.firstFree = uint32(binary.LittleEndian.Uint64(w.mem[w.entryOffset(index)+layout.EntryUnion:]))
	} else {
		n := w.vecLen(w.dir)
		if n == w.dir.cap {
			if err := w.growDir(n + 1); err != nil {
				return nil, err
			}
		}
		index, appended = uint32(n), true
	}
	eo := w.entryOffset(index)
	e := w.mem[eo:][:layout.EntrySize]
	clear(e[layout.EntryName:])
	copy(e[layout.EntryName:layout.EntryName+MaxNameLen], name)
	w.storeUnion(index, union)
	atomic.StoreUint64(w.word(eo+layout.EntryType), uint64(t))
	if appended {
		w.setVecLen(&w.dir, int(index)+1)
	}

	h := &Handle{w: w, index: index, name: name, typ: t}
	w.byName[name] = index
	w.handles[index] = h
	return h, nil
}

// growDir moves the directory to a larger vector, as vec_validate does when
// VPP's directory_vector runs out of room, and republishes its address.
func (w *Writer) growDir(need int) error {
	old := w.dir
	n := w.vecLen(old)
	nd, err := w.allocVec(layout.EntrySize, n, need+need/2, heapVecHeader, alignHeap)
	if err != nil {
		return err
	}
	copy(w.mem[nd.data:nd.data+uint64(n*layout.EntrySize)], w.mem[old.data:])
	w.dir = nd
	w.storeHeader(layout.HeaderDirectory, w.ptr(nd.data))
	w.free(old)
	return nil
}

// removeEntry frees an entry's vectors and links its slot into the free
// list. Called locked, in progress.
func (w *Writer) removeEntry(h *Handle) {
	// Unpublish before freeing so that no reader follows the pointer into
	// memory about to be reused.
	w.storeUnion(h.index, 0)
	for _, r := range h.rows {
		if r.block != 0 {
			w.free(r)
		}
	}
	if h.outer.block != 0 {
		w.free(h.outer)
	}
	h.rows, h.outer, h.deleted = nil, wvec{}, true

	e := w.mem[w.entryOffset(h.index):][:layout.EntrySize]
	clear(e)
	binary.LittleEndian.PutUint32(e[layout.EntryType:], uint32(layout.TypeEmpty))
	binary.LittleEndian.PutUint64(e[layout.EntryUnion:], uint64(w.firstFree))
	w.firstFree = h.index
	delete(w.byName, h.name)
	delete(w.handles, h.index)
}

// lockChange starts a directory change as VPP's vlib_stats_segment_lock
// does: serialized with every other change and announced to readers with
// in_progress. The returned func publishes it (epoch bump) and unlocks.
func (w *Writer) lockChange() (done func(), err error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, ErrWriterClosed
	}
	w.begin()
	return func() { w.end(); w.mu.Unlock() }, nil
}

// begin and end bracket a directory change the way vlib_stats_segment_lock
// and _unlock do: in_progress is raised first; the epoch moves before
// in_progress drops, so a reader that saw in_progress == 0 and then the old
// epoch again can trust what it read in between.
func (w *Writer) begin() {
	atomic.StoreUint64(w.word(layout.HeaderInProgress), 1)
}

func (w *Writer) end() {
	atomic.AddUint64(w.word(layout.HeaderEpoch), 1)
	atomic.StoreUint64(w.word(layout.HeaderInProgress), 0)
}

// ---- counters ----

func (h *Handle) counterSize() int {
	if h.typ == layout.TypeCounterCombined {
		return layout.CombinedSize
	}
	return layout.CounterSize
}

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

	// Allocate every new row first so that running out of room leaves the
	// counter as it was.
	sz := h.counterSize()
	fresh := make([]wvec, len(h.rows))
	for i := range fresh {
		r, err := w.allocVec(sz, n, n, counterVecHeader, alignCounter)
		if err != nil {
			for _, f := range fresh[:i] {
				w.free(f)
			}
			return err
		}
		fresh[i] = r
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

// ---- vectors and memory ----

// allocVec allocates a vector of n elements of size elt with room for cap,
// behind a header of hdr bytes, and fills vec_header_t as vppinfra would.
func (w *Writer) allocVec(elt, n, capacity, hdr int, align byte) (wvec, error) {
	capacity = max(capacity, n)
	size := uint64(hdr + capacity*elt)
	block, blockSize, ok := w.heap.alloc(size)
	if !ok {
		return wvec{}, fmt.Errorf("%w: no room for %d bytes", ErrSegmentFull, size)
	}
	clear(w.mem[block : block+blockSize])
	v := wvec{block: block, blockSize: blockSize, data: block + uint64(hdr), elt: elt}
	// The rounding to whole cache lines leaves spare elements; grow_elts
	// says how many (it is a u8), as in vppinfra.
	v.cap = int((blockSize - uint64(hdr)) / uint64(elt))
	h := w.mem[v.data-layout.VecHeaderSize : v.data]
	h[layout.VecHdrSizeOff+layout.VecHeaderSize] = byte(hdr / 8)
	h[layout.VecAlignOffset+layout.VecHeaderSize] = align
	if align&0x80 == 0 {
		// Not on the default heap: vppinfra keeps the heap pointer just in
		// front of vec_header_t.
		binary.LittleEndian.PutUint64(w.mem[v.data-16:], w.base+fakeHeapOffset)
	}
	w.setVecLen(&v, n)
	return v, nil
}

func (w *Writer) vecLen(v wvec) int {
	return int(binary.LittleEndian.Uint32(w.mem[v.data-layout.VecHeaderSize+(layout.VecHeaderSize+layout.VecLenOffset):]))
}

func (w *Writer) setVecLen(v *wvec, n int) {
	h := w.mem[v.data-layout.VecHeaderSize : v.data]
	binary.LittleEndian.PutUint32(h[layout.VecHeaderSize+layout.VecLenOffset:], uint32(n))
	h[layout.VecHeaderSize+layout.VecGrowOffset] = byte(min(v.cap-n, 255))
}

func (w *Writer) free(v wvec) {
	w.heap.free(v.block, v.blockSize)
}

// ptr converts an offset in the segment to a VPP address.
func (w *Writer) ptr(off uint64) uint64 { return w.base + off }

func (w *Writer) entryOffset(index uint32) uint64 {
	return w.dir.data + uint64(index)*layout.EntrySize
}

func (w *Writer) storeHeader(off int, v uint64) {
	atomic.StoreUint64(w.word(uint64(off)), v)
}

func (w *Writer) storeUnion(index uint32, v uint64) {
	atomic.StoreUint64(w.word(w.entryOffset(index)+layout.EntryUnion), v)
}

func (w *Writer) storePtr(off, v uint64) {
	atomic.StoreUint64(w.word(off), v)
}

// word returns the aligned u64 at off in the mapping, for atomic access.
func (w *Writer) word(off uint64) *uint64 {
	if off%8 != 0 || off+8 > uint64(len(w.mem)) {
		panic(fmt.Sprintf("segwriter: word at %#x outside the segment or unaligned", off))
	}
	return (*uint64)(unsafe.Pointer(&w.mem[off]))
}

// wheap is a first-fit wheap over [heapStart, end) with a bump
// pointer for fresh memory and a sorted, coalescing free list, enough to
// move vectors around the way VPP's heap does.
type wheap struct {
	next, end uint64
	holes     []wspan // sorted by offset, never adjacent
}

type wspan struct{ off, size uint64 }

func (a *wheap) alloc(size uint64) (off, got uint64, ok bool) {
	size = (size + writerBlockAlign - 1) &^ (writerBlockAlign - 1)
	for i, s := range a.holes {
		if s.size >= size {
			if s.size == size {
				a.holes = append(a.holes[:i], a.holes[i+1:]...)
			} else {
				a.holes[i] = wspan{s.off + size, s.size - size}
			}
			return s.off, size, true
		}
	}
	if a.end-a.next < size {
		return 0, 0, false
	}
	off = a.next
	a.next += size
	return off, size, true
}

func (a *wheap) free(off, size uint64) {
	i := sort.Search(len(a.holes), func(i int) bool { return a.holes[i].off > off })
	a.holes = append(a.holes, wspan{})
	copy(a.holes[i+1:], a.holes[i:])
	a.holes[i] = wspan{off, size}
	// Coalesce with the following, then the preceding wspan.
	if i+1 < len(a.holes) && a.holes[i].off+a.holes[i].size == a.holes[i+1].off {
		a.holes[i].size += a.holes[i+1].size
		a.holes = append(a.holes[:i+1], a.holes[i+2:]...)
	}
	if i > 0 && a.holes[i-1].off+a.holes[i-1].size == a.holes[i].off {
		a.holes[i-1].size += a.holes[i].size
		a.holes = append(a.holes[:i], a.holes[i+1:]...)
		i--
	}
	// Give the tail back to the bump pointer.
	if last := a.holes[len(a.holes)-1]; last.off+last.size == a.next {
		a.next = last.off
		a.holes = a.holes[:len(a.holes)-1]
	}
}
