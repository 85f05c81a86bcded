package segwriter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

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
