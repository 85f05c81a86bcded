// Package layout is the binary layout of VPP's shared-memory statistics
// segment, the one fact that its reader (package statseg) and its producer
// (package segwriter) share. Neither imports the other.
//
// The layout is the one of VPP v22.06 and later (src/vlib/stats/shared.h):
// a 40-byte shared header, a VPP vector of 144-byte directory entries, and
// VPP vectors (8-byte vec_header_t in front of the first element) for every
// counter, name and histogram vector. Every pointer in the segment is an
// address in VPP's own address space; subtract the header's base to get an
// offset in the mapping.
package layout

import "fmt"

// Type is a directory entry type, numbered as in VPP v22.06 and later.
type Type uint32

// Directory entry types (stat_directory_type_t).
const (
	TypeIllegal         Type = 0
	TypeScalar          Type = 1 // u64 in the entry itself
	TypeCounterSimple   Type = 2 // [thread][index]u64
	TypeCounterCombined Type = 3 // [thread][index]{packets, bytes u64}
	TypeNameVector      Type = 4 // [index]u8 vector (a name)
	TypeEmpty           Type = 5 // free slot; the union is a free-list link
	TypeSymlink         Type = 6 // index1 = target entry, index2 = column
	TypeHistogramLog2   Type = 7 // since v26.02: [thread][bin]u64
	TypeRingBuffer      Type = 8 // since v26.02: listed, not decoded
	TypeGauge           Type = 9 // since v26.02: u64 in the entry itself
)

var typeNames = [...]string{
	TypeIllegal:         "illegal",
	TypeScalar:          "scalar",
	TypeCounterSimple:   "simple-counter",
	TypeCounterCombined: "combined-counter",
	TypeNameVector:      "name-vector",
	TypeEmpty:           "empty",
	TypeSymlink:         "symlink",
	TypeHistogramLog2:   "histogram-log2",
	TypeRingBuffer:      "ring-buffer",
	TypeGauge:           "gauge",
}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Shared header (vlib_stats_shared_header_t): five little-endian u64 words.
const (
	HeaderVersion    = 0  // u64, SegmentVersion
	HeaderBase       = 8  // VPP's address of the segment
	HeaderEpoch      = 16 // bumped on every directory change
	HeaderInProgress = 24 // non-zero while VPP changes the directory
	HeaderDirectory  = 32 // pointer to the directory vector
	HeaderSize       = 40

	// HeaderLegacyErrors is where VPP before 22.06 kept a sixth header word,
	// the error-counter vector; readers use it only to refuse that layout.
	HeaderLegacyErrors = 40

	// SegmentVersion is the header version of VPP 22.06 and later (older
	// VPPs wrote 2 as well, with another layout: see HeaderLegacyErrors).
	SegmentVersion = 2
)

// Directory entry (vlib_stats_entry_t).
const (
	EntryType     = 0  // u32
	EntryUnion    = 8  // u64 value, pointer, or u32 index1 + u32 index2
	EntryName     = 16 // char[128], NUL-terminated
	EntryNameSize = 128
	EntrySize     = EntryName + EntryNameSize
)

// vec_header_t, just in front of a vector's first element.
const (
	VecHeaderSize  = 8
	VecLenOffset   = -8 // u32 element count
	VecHdrSizeOff  = -4 // u8: header bytes / 8 (header, user header and padding)
	VecAlignOffset = -3 // u8: log2 alignment (7 bits) + default_heap (bit 7)
	VecGrowOffset  = -2 // u8: spare elements after len
	CounterSize    = 8  // simple counter or histogram bin: u64
	CombinedSize   = 16 // combined counter: packets u64, bytes u64
	PointerSize    = 8
)

// CellSize is the size in the segment of one cell of a counter vector of
// type t: packets and bytes for a combined counter, else one u64.
func CellSize(t Type) int {
	if t == TypeCounterCombined {
		return CombinedSize
	}
	return CounterSize
}

// Combined is one cell of a combined counter vector.
type Combined struct {
	Packets uint64
	Bytes   uint64
}
