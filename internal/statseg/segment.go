package statseg

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// segment is a bounds-checked, read-only view of a mapped stats segment.
//
// VPP writes into the mapping while we read it, so nothing read from it is
// trusted: every pointer is translated with the header's base and checked
// against the mapping, and every vector length is checked against the bytes
// that remain, before any slice of the mapping is taken.
type segment struct {
	data []byte
	base uint64 // VPP's address of data[0], read from the header
	// words is data as u64s (data is 8-byte aligned), for the hot paths:
	// indexing it is bounds-checked by Go like any slice.
	words []uint64
}

func newSegment(data []byte) *segment {
	return &segment{data: data, words: unsafe.Slice((*uint64)(unsafe.Pointer(&data[0])), len(data)/8)}
}

// legacyLayout reports whether the segment is laid out as by VPP before
// 22.06, which also wrote version 2: its header had a sixth word, a pointer
// to the error-counter vector, and its entry types were numbered otherwise
// (4 was an error index). Since 22.06 that word is not part of the header
// and stays zero; a pointer into the segment there is the old layout. This
// is how govpp tells the two apart too.
func (s *segment) legacyLayout() bool {
	if len(s.data) < headerLegacyErrors+8 {
		return false
	}
	p := s.u64(headerLegacyErrors)
	_, inside := s.offset(p)
	return p != 0 && inside
}

// load64 reads an aligned u64 of the header atomically, so that the compiler
// neither tears nor reorders the loads the optimistic lock depends on.
func (s *segment) load64(off int) uint64 {
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&s.data[off])))
}

func (s *segment) u64(off int) uint64 { return binary.LittleEndian.Uint64(s.data[off:]) }
func (s *segment) u32(off int) uint32 { return binary.LittleEndian.Uint32(s.data[off:]) }

// offset translates a VPP pointer into an offset of the mapping; ok is false
// for NULL and for any address outside the mapping (stat_segment_adjust).
func (s *segment) offset(ptr uint64) (int, bool) {
	if ptr < s.base {
		return 0, false
	}
	off := ptr - s.base
	if off >= uint64(len(s.data)) {
		return 0, false
	}
	return int(off), true
}

// vector checks the VPP vector that ptr points to: it must start inside the
// mapping, leave room for its vec_header_t in front, be aligned for its
// elements, and hold len elements of elemSize bytes before the mapping ends.
func (s *segment) vector(ptr uint64, elemSize int) (off, n int, err error) {
	off, ok := s.offset(ptr)
	if !ok {
		return 0, 0, fmt.Errorf("vector pointer %#x is outside the segment", ptr)
	}
	if off < vecHeaderSize {
		return 0, 0, fmt.Errorf("vector at offset %#x has no room for its header", off)
	}
	if off%8 != 0 {
		return 0, 0, fmt.Errorf("vector at offset %#x is not 8-byte aligned", off)
	}
	n = int(s.u32(off + vecLenOffset))
	if uint64(n)*uint64(elemSize) > uint64(len(s.data)-off) {
		return 0, 0, fmt.Errorf("vector at offset %#x: %d elements of %d bytes run past the end of the segment", off, n, elemSize)
	}
	return off, n, nil
}

// combined returns the n combined cells at off as a slice of the mapping.
func (s *segment) combined(off, n int) []Combined {
	if n == 0 {
		return nil
	}
	if off < 0 || off%8 != 0 || n < 0 || n > (len(s.data)-off)/combinedSize {
		panic("statseg: combined out of range") // unreachable: callers check with vector
	}
	return unsafe.Slice((*Combined)(unsafe.Pointer(&s.data[off])), n)
}

// cstring returns the NUL-terminated string of at most max bytes at off.
func (s *segment) cstring(off, max int) []byte {
	b := s.data[off : off+max]
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}
