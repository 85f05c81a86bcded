// Package statseg reads and writes VPP's shared-memory statistics segment.
//
// It is the one place in this module that knows the segment's binary layout:
// the reader (used by the receiver, vppstat and vppstatsfs) and the writer
// (used by tests, benchmarks and the simulator) live side by side so that
// both follow the same constants.
//
// The layout is the one of VPP v22.06 and later (src/vlib/stats/shared.h):
// a 40-byte shared header, a VPP vector of 144-byte directory entries, and
// VPP vectors (8-byte vec_header_t in front of the first element) for every
// counter, name and histogram vector. Every pointer in the segment is an
// address in VPP's own address space; subtract the header's base to get an
// offset in the mapping.
package statseg

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
	headerVersion    = 0  // u64, SegmentVersion
	headerBase       = 8  // VPP's address of the segment
	headerEpoch      = 16 // bumped on every directory change
	headerInProgress = 24 // non-zero while VPP changes the directory
	headerDirectory  = 32 // pointer to the directory vector
	headerSize       = 40

	// headerLegacyErrors is where VPP before 22.06 kept a sixth header word,
	// the error-counter vector; readers use it only to refuse that layout.
	headerLegacyErrors = 40

	// SegmentVersion is the only header version this package reads.
	SegmentVersion = 2
)

// Directory entry (vlib_stats_entry_t).
const (
	entryType     = 0  // u32
	entryUnion    = 8  // u64 value, pointer, or u32 index1 + u32 index2
	entryName     = 16 // char[128], NUL-terminated
	EntryNameSize = 128
	entrySize     = entryName + EntryNameSize
)

// vec_header_t, just in front of a vector's first element.
const (
	vecHeaderSize   = 8
	vecLenOffset    = -8 // u32 element count
	vecHdrSizeOff   = -4 // u8: header bytes / 8 (header, user header and padding)
	vecAlignOffset  = -3 // u8: log2 alignment (7 bits) + default_heap (bit 7)
	vecGrowOffset   = -2 // u8: spare elements after len
	counterElemSize = 8  // simple counter: u64
	combinedSize    = 16 // combined counter: packets u64, bytes u64
	pointerSize     = 8
)

// Combined is one cell of a combined counter vector.
type Combined struct {
	Packets uint64
	Bytes   uint64
}
