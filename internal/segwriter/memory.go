package segwriter

import (
	"encoding/binary"
	"fmt"
	"sort"
	"sync/atomic"
	"unsafe"

	"github.com/vppstats/vppstats/internal/statseg/layout"
)

// Memory: vectors laid out as vppinfra does, atomic words of the mapping,
// and the heap that hands out the segment's bytes.

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
