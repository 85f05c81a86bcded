// Package statseg reads VPP's shared-memory statistics segment: the
// bounds-checked view of a mapping (segment.go), the directory resolved once
// per epoch (directory.go), consistent snapshots under VPP's optimistic
// lock (reader.go), the client of VPP's stats socket (client.go) and the
// vpp_get_stats dump format (dump.go). It only reads: the producer side
// (writer, socket server) used by tests, benchmarks and the simulator is
// package segwriter, and both follow the layout of package layout (VPP
// v22.06 and later).
package statseg

import "github.com/vppstats/vppstats/internal/statseg/layout"

// Type is a directory entry type, numbered as in VPP v22.06 and later.
type Type = layout.Type

// Directory entry types (stat_directory_type_t).
const (
	TypeIllegal         = layout.TypeIllegal
	TypeScalar          = layout.TypeScalar
	TypeCounterSimple   = layout.TypeCounterSimple
	TypeCounterCombined = layout.TypeCounterCombined
	TypeNameVector      = layout.TypeNameVector
	TypeEmpty           = layout.TypeEmpty
	TypeSymlink         = layout.TypeSymlink
	TypeHistogramLog2   = layout.TypeHistogramLog2
	TypeRingBuffer      = layout.TypeRingBuffer
	TypeGauge           = layout.TypeGauge
)

// Combined is one cell of a combined counter vector.
type Combined = layout.Combined

// SegmentVersion is the only header version this package reads.
const SegmentVersion = layout.SegmentVersion

// The reader's short names for the layout's offsets and sizes.
const (
	headerVersion      = layout.HeaderVersion
	headerBase         = layout.HeaderBase
	headerEpoch        = layout.HeaderEpoch
	headerInProgress   = layout.HeaderInProgress
	headerDirectory    = layout.HeaderDirectory
	headerSize         = layout.HeaderSize
	headerLegacyErrors = layout.HeaderLegacyErrors

	entryType     = layout.EntryType
	entryUnion    = layout.EntryUnion
	entryName     = layout.EntryName
	entryNameSize = layout.EntryNameSize
	entrySize     = layout.EntrySize

	vecHeaderSize   = layout.VecHeaderSize
	vecLenOffset    = layout.VecLenOffset
	counterElemSize = layout.CounterSize
	combinedSize    = layout.CombinedSize
	pointerSize     = layout.PointerSize
)
