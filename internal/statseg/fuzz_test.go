package statseg

import (
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/vppstats/vppstats/internal/statseg/layout"
)

// compact returns the prefix of a real capture that holds everything its
// directory refers to: a valid segment small enough for the fuzzer to
// mutate usefully (the captures are 16 MiB, mostly free heap).
func compact(t testing.TB, path string) []byte {
	t.Helper()
	data, err := layout.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := FromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Directory()
	if err != nil {
		t.Fatal(err)
	}
	s := r.seg
	end := 0
	grow := func(off, n int) { end = max(end, off+n) }
	doff, n, _ := s.vector(d.dirPtr, entrySize)
	grow(doff, n*entrySize)
	for i := range d.Entries {
		e := &d.Entries[i]
		union := s.u64(doff + i*entrySize + entryUnion)
		switch e.Type {
		case TypeCounterSimple, TypeCounterCombined, TypeHistogramLog2, TypeNameVector:
			voff, vn, _ := s.vector(union, pointerSize)
			grow(voff, vn*pointerSize)
			for k := range vn {
				if p := s.u64(voff + k*pointerSize); p != 0 {
					off, _ := s.offset(p)
					grow(off, int(s.u32(off+vecLenOffset))*combinedSize)
				}
			}
		}
	}
	return data[:min(len(data), (end+4095)&^4095)]
}

// readAll is what every fuzz target checks: whatever the bytes hold, the
// reader returns values or errors, and never panics, faults or reads more
// than the segment holds.
func readAll(t *testing.T, data []byte) {
	r, err := FromBytes(data)
	if err != nil {
		return
	}
	r.BusyWait, r.Attempts = 0, 1
	var s Snapshot
	if err := r.Snapshot(&s, nil); err != nil {
		return
	}
	checkReadBound(t, &s, len(data))
	if err := WriteDump(io.Discard, &s); err != nil {
		t.Fatal(err)
	}
}

// checkReadBound checks the read bound (see directory.go) on what s holds:
// the vector bytes and the symlinked bytes each fit in the segment's size.
func checkReadBound(t testing.TB, s *Snapshot, size int) {
	t.Helper()
	var vectors, links, rows int
	for i := range s.Dir.Entries {
		e := &s.Dir.Entries[i]
		if e.Type == TypeNameVector {
			vectors += len(e.Names) * pointerSize
			for _, n := range e.Names {
				vectors += len(n)
			}
		}
	}
	for _, i := range s.Wanted {
		e, v := &s.Dir.Entries[i], &s.Values[i]
		n := len(v.Simple) + len(v.Combined) + len(v.Histogram)
		bytes := 0
		for _, row := range v.Simple {
			bytes += len(row) * counterElemSize
		}
		for _, row := range v.Combined {
			bytes += len(row) * combinedSize
		}
		for _, row := range v.Histogram {
			bytes += len(row) * counterElemSize
		}
		rows += n
		if e.Type == TypeSymlink {
			links += max(bytes, n*counterElemSize) // a NULL row is charged too
		} else {
			vectors += bytes + n*pointerSize
		}
	}
	if vectors > size || links > size || rows > size/4 {
		t.Fatalf("a %d-byte segment read into %d rows %d bytes of vectors and %d bytes of symlinked cells: the bound is %d rows, %d bytes each",
			size, rows, vectors, links, size/4, size)
	}
}

// FuzzSegment reads arbitrary small byte strings as segments.
func FuzzSegment(f *testing.F) {
	hdr := make([]byte, 4096)
	binary.LittleEndian.PutUint64(hdr[headerVersion:], SegmentVersion)
	binary.LittleEndian.PutUint64(hdr[headerBase:], 0x7f0000000000)
	f.Add(hdr[:headerSize])
	// A directory of three entries at offset 64, all zero (illegal type).
	self := append([]byte(nil), hdr...)
	binary.LittleEndian.PutUint64(self[headerDirectory:], 0x7f0000000000+64)
	binary.LittleEndian.PutUint32(self[56:], 3)
	f.Add(self)
	f.Fuzz(readAll)
}

// FuzzCapture corrupts the real captures: the input is a list of 12-byte
// patches (u32 offset, u64 value) written into a compacted capture. The
// captures are 1 MiB once compacted, too large for byte-level mutation to
// reach their structure; patches aim the fuzzer at it (offsets are taken
// modulo the size and aligned to 4 bytes, as the structure's fields are).
func FuzzCapture(f *testing.F) {
	paths := captures(f)
	segs := make([][]byte, len(paths))
	for i, p := range paths {
		segs[i] = compact(f, p)
		f.Add(uint8(i), []byte{})
	}
	// Seeds aimed at the header words and a directory entry's union.
	f.Add(uint8(0), patch(headerDirectory, 0x1))
	f.Add(uint8(3), patch(headerBase, 0x10))
	f.Add(uint8(3), patch(0x2aa90+3*entrySize+entryUnion, 0x7f5f1e827000+0xfffff0))
	f.Fuzz(func(t *testing.T, which uint8, patches []byte) {
		seg := segs[int(which)%len(segs)]
		data := append([]byte(nil), seg...)
		for ; len(patches) >= 12; patches = patches[12:] {
			off := int(binary.LittleEndian.Uint32(patches)) % (len(data) - 8) &^ 3
			binary.LittleEndian.PutUint64(data[off:], binary.LittleEndian.Uint64(patches[4:]))
		}
		readAll(t, data)
	})
}

func patch(off int, v uint64) []byte {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b, uint32(off))
	binary.LittleEndian.PutUint64(b[4:], v)
	return b
}

// TestSharedVectorsAreBounded: a hostile directory whose every entry points
// at the same large vector of NULL thread rows must not make the reader
// resolve (and allocate) that vector once per entry. Found by FuzzCapture.
func TestSharedVectorsAreBounded(t *testing.T) {
	const (
		size    = 1 << 20
		base    = 0x7f0000000000
		entries = 2000
		rows    = 16 << 10 // a 128 KiB vector of NULL row pointers
	)
	data := make([]byte, size)
	le := binary.LittleEndian
	le.PutUint64(data[headerVersion:], SegmentVersion)
	le.PutUint64(data[headerBase:], base)
	dir := 4096
	le.PutUint64(data[headerDirectory:], base+uint64(dir))
	le.PutUint32(data[dir+vecLenOffset:], entries)
	vec := dir + entries*entrySize + 64
	le.PutUint32(data[vec+vecLenOffset:], rows)
	for i := range entries {
		e := dir + i*entrySize
		le.PutUint32(data[e+entryType:], uint32(TypeCounterSimple))
		le.PutUint64(data[e+entryUnion:], base+uint64(vec))
		copy(data[e+entryName:], fmt.Sprintf("/x/%d", i))
	}
	r, err := FromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Directory()
	if err != nil {
		t.Fatal(err)
	}
	resolved, refused := 0, 0
	for i := range d.Entries {
		resolved += len(d.Entries[i].rows)
		if d.Entries[i].Err != nil {
			refused++
		}
	}
	if resolved*pointerSize > size {
		t.Fatalf("resolved %d thread rows out of a %d-byte segment", resolved, size)
	}
	if refused == 0 {
		t.Fatal("no entry was refused for sharing a vector")
	}
}
