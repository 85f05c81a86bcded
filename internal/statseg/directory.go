package statseg

import (
	"fmt"

	"github.com/vppstats/vppstats/internal/statseg/layout"
)

// Entry is one resolved directory entry. Entries are resolved once per epoch:
// names, types, symlink targets and the place of every counter row in the
// mapping do not change until VPP bumps the epoch.
type Entry struct {
	Index int    // position in the directory
	Name  string // stat path, e.g. "/if/rx"
	Type  Type

	// Symlinks only: the directory index of the target vector and the column
	// (object index) in it. DataType is the target's type; for every other
	// entry it equals Type.
	Target   int
	Column   int
	DataType Type

	// Name vectors only: the names by index. A NULL slot reads as "" and is
	// marked in NullNames (nil when no slot is NULL).
	Names     []string
	NullNames []bool

	// Err says why this entry cannot be read (a pointer outside the segment,
	// a vector running past its end...). Its value is left empty.
	Err error

	valueOff int    // scalars and gauges: offset of the u64 in the entry
	rows     []span // counter and histogram vectors: one span per thread
	// Symlinks read their target's rows at column Column: not copied per
	// link, as a large VPP has hundreds of thousands of links.
	threads int
}

// span is one thread's row of a vector: n cells starting at off.
type span struct{ off, n int }

// Dir is the resolved directory at one epoch.
type Dir struct {
	Epoch   uint64
	Entries []Entry

	byName map[string]int

	// VPP adds symlinks without taking the lock or bumping the epoch
	// (vlib_stats_create_counter fills a free slot or appends one); every
	// other change of the directory is made under the lock. So the
	// directory is still the one resolved while it is at the same place
	// with the same length and the slots free then are free still. sig
	// keeps each entry's type and union words, for one entry's check.
	dirPtr uint64
	sig    []uint64
	free   []int
}

// Lookup returns the entry named name.
func (d *Dir) Lookup(name string) (*Entry, bool) {
	i, ok := d.byName[name]
	if !ok {
		return nil, false
	}
	return &d.Entries[i], true
}

// Threads returns the number of thread rows of a counter or histogram entry.
func (e *Entry) Threads() int { return e.threads }

// Columns returns the number of columns (objects) of a counter or histogram
// vector: the widest of its thread rows (VPP keeps them equally wide). It is
// known from the directory alone, so a plan can be made before any value is
// read. Symlinks and scalars have none.
func (e *Entry) Columns() int {
	n := 0
	for _, r := range e.rows {
		n = max(n, r.n)
	}
	return n
}

// The read bound. For a segment of S bytes, whatever it holds, resolving
// its directory and reading every entry charges:
//
//   - vectors: 8 bytes per thread-row pointer and per name pointer, the
//     bytes of every counter cell, histogram bin and name: at most S in all,
//     since real vectors never overlap;
//   - symlinks: one cell of its target per thread row of the target, at its
//     cell size (8 or 16 bytes): at most S in all, since VPP links each cell
//     at most once.
//
// An entry whose charge does not fit is unreadable (Entry.Err). So a read
// copies at most 2·S bytes of values into at most S/4 rows (every row is
// charged at least 8 bytes), and the fuzz targets check exactly that.

// maxDirEntries bounds the directory length a reader accepts. VPP with
// tens of thousands of interfaces has a few hundred thousand entries; a
// larger count is a corrupt header, not a bigger VPP.
const maxDirEntries = 1 << 24

// resolve reads the directory at dirPtr. It fails only when the directory
// itself is unreadable; an unreadable entry gets its Err set instead.
func (s *segment) resolve(epoch, dirPtr uint64) (*Dir, error) {
	off, n, err := s.vector(dirPtr, entrySize)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	if n > maxDirEntries {
		return nil, fmt.Errorf("directory: %d entries is more than any VPP publishes", n)
	}
	d := &Dir{
		Epoch:   epoch,
		Entries: make([]Entry, n),
		byName:  make(map[string]int, n),
		dirPtr:  dirPtr,
		sig:     make([]uint64, 2*n),
	}
	// The read bound (see above): vectors of a real segment never
	// overlap, so all of them together (thread-pointer vectors, rows, names)
	// fit in the segment; and VPP links each cell at most once, so all
	// symlinks together read no more cells than the segment holds. A hostile
	// segment pointing every entry at the same large vector, or every link
	// at a target of many rows, would otherwise make readers resolve and
	// copy many times its size.
	budget, linkBudget := len(s.data), len(s.data)
	for i := range d.Entries {
		e := &d.Entries[i]
		eo := off + i*entrySize
		e.Index = i
		d.sig[2*i], d.sig[2*i+1] = s.u64(eo), s.u64(eo+entryUnion)
		e.Type = Type(s.u32(eo + entryType))
		e.DataType = e.Type
		if e.Type == TypeEmpty {
			d.free = append(d.free, i)
			continue // the union is a free-list link and the name is stale
		}
		e.Name = string(s.cstring(eo+entryName, entryNameSize))
		if _, dup := d.byName[e.Name]; !dup {
			d.byName[e.Name] = i
		}
		union := s.u64(eo + entryUnion)
		switch e.Type {
		case TypeScalar, TypeGauge:
			e.valueOff = eo + entryUnion
		case TypeCounterSimple, TypeHistogramLog2:
			e.rows, e.Err = s.rows(union, counterElemSize, &budget)
			e.threads = len(e.rows)
		case TypeCounterCombined:
			e.rows, e.Err = s.rows(union, combinedSize, &budget)
			e.threads = len(e.rows)
		case TypeNameVector:
			e.Names, e.NullNames, e.Err = s.names(union, &budget)
		case TypeSymlink:
			e.Target, e.Column = int(uint32(union)), int(uint32(union>>32))
		case TypeRingBuffer:
			// Listed, not decoded: nothing VPP publishes today needs it.
		default:
			e.Err = fmt.Errorf("unknown entry type %d", uint32(e.Type))
		}
		if e.Err != nil {
			e.Err = fmt.Errorf("stat %q (%s): %w", e.Name, e.Type, e.Err)
		}
	}
	// Symlinks last: their targets may come after them in the directory.
	for i := range d.Entries {
		if e := &d.Entries[i]; e.Type == TypeSymlink {
			d.link(e, &linkBudget)
		}
	}
	return d, nil
}

// current reports whether the segment's directory is still the one d was
// resolved from: same place, same length, and no free slot taken since
// (see Dir). It reads the free slots only, not every entry: at 50,000
// entries, comparing them all touched 7 MB of the segment per read, most
// of a scrape's time when the caches are cold between scrapes.
func (d *Dir) current(s *segment, dirPtr uint64) bool {
	words, ok := d.inPlace(s, dirPtr)
	if !ok {
		return false
	}
	for _, i := range d.free {
		if !d.sameEntry(words, i) {
			return false
		}
	}
	return true
}

// inPlace returns the words of the segment's directory vector (at dirPtr)
// when it is where d was resolved from and as long; false otherwise.
func (d *Dir) inPlace(s *segment, dirPtr uint64) ([]uint64, bool) {
	if dirPtr != d.dirPtr {
		return nil, false
	}
	off, n, err := s.vector(dirPtr, entrySize)
	if err != nil || n != len(d.Entries) {
		return nil, false
	}
	return s.words[off/8:], true
}

// sameEntry reports whether entry i of the directory vector's words still
// has the type and union words d resolved. The union of a scalar or gauge
// is its value, which VPP updates in place: only its type word counts.
func (d *Dir) sameEntry(words []uint64, i int) bool {
	w := i * entrySize / 8
	if words[w] != d.sig[2*i] {
		return false
	}
	switch d.Entries[i].Type {
	case TypeScalar, TypeGauge:
		return true
	}
	return words[w+entryUnion/8] == d.sig[2*i+1]
}

// rows resolves a vector of per-thread pointers to vectors of elemSize cells.
// A NULL thread pointer is an empty row, as VPP's reader treats it.
func (s *segment) rows(ptr uint64, elemSize int, budget *int) ([]span, error) {
	off, threads, err := s.vector(ptr, pointerSize)
	if err != nil {
		return nil, err
	}
	if *budget -= threads * pointerSize; *budget < 0 {
		return nil, fmt.Errorf("%d thread rows: vectors overlap: more bytes than the segment holds", threads)
	}
	rows := make([]span, threads)
	for t := range rows {
		p := s.u64(off + t*pointerSize)
		if p == 0 {
			continue
		}
		roff, n, err := s.vector(p, elemSize)
		if err != nil {
			return nil, fmt.Errorf("thread %d: %w", t, err)
		}
		if *budget -= n * elemSize; *budget < 0 {
			return nil, fmt.Errorf("thread %d: vectors overlap: more counter bytes than the segment holds", t)
		}
		rows[t] = span{roff, n}
	}
	return rows, nil
}

// names resolves a name vector: a vector of pointers to u8 vectors. VPP's
// names carry a terminating NUL inside their length; like its C reader we
// stop at the first NUL.
func (s *segment) names(ptr uint64, budget *int) ([]string, []bool, error) {
	off, n, err := s.vector(ptr, pointerSize)
	if err != nil {
		return nil, nil, err
	}
	if *budget -= n * pointerSize; *budget < 0 {
		return nil, nil, fmt.Errorf("%d names: vectors overlap: more bytes than the segment holds", n)
	}
	names := make([]string, n)
	var null []bool
	for i := range names {
		p := s.u64(off + i*pointerSize)
		if p == 0 {
			if null == nil {
				null = make([]bool, n)
			}
			null[i] = true
			continue
		}
		noff, ok := s.offset(p)
		if !ok || noff < vecHeaderSize {
			return nil, nil, fmt.Errorf("name %d: pointer %#x is outside the segment", i, p)
		}
		ln := int(s.u32(noff + vecLenOffset))
		if ln > len(s.data)-noff {
			return nil, nil, fmt.Errorf("name %d: %d bytes run past the end of the segment", i, ln)
		}
		if *budget -= ln; *budget < 0 {
			return nil, nil, fmt.Errorf("name %d: names overlap: more name bytes than the segment holds", i)
		}
		names[i] = string(s.cstring(noff, ln))
	}
	return names, null, nil
}

// link resolves a symlink to one column of its target's rows, charging the
// cells it will read (one per thread row of the target) to budget.
func (d *Dir) link(e *Entry, budget *int) {
	fail := func(format string, args ...any) {
		e.Err = fmt.Errorf("stat %q (symlink to entry %d column %d): %s", e.Name, e.Target, e.Column, fmt.Sprintf(format, args...))
	}
	if e.Target >= len(d.Entries) {
		fail("the directory has only %d entries", len(d.Entries))
		return
	}
	t := &d.Entries[e.Target]
	e.DataType = t.Type
	switch {
	case t.Err != nil:
		fail("target unreadable: %v", t.Err)
		return
	case t.Type == TypeSymlink:
		fail("target is itself a symlink")
		return
	case t.Type == TypeScalar || t.Type == TypeGauge:
		e.valueOff = t.valueOff // VPP's reader copies the target's value
		return
	case t.Type == TypeNameVector:
		e.Names, e.NullNames = t.Names, t.NullNames // the whole vector, as VPP's reader does
		return
	case t.Type == TypeEmpty || t.Type == TypeRingBuffer:
		// A link left dangling by a deleted entry, or to a ring: VPP's
		// reader returns nothing for it, and neither do we.
		return
	case t.Type != TypeCounterSimple && t.Type != TypeCounterCombined:
		fail("target %q is a %s, which cannot be linked", t.Name, t.Type)
		return
	}
	// The column must be inside every row that has cells (a NULL row stays
	// empty) and inside the target's width: a column beyond it (an index
	// near 2^32 in a hostile segment) must not reach any consumer that would
	// size something by it.
	if width := t.Columns(); e.Column >= width {
		fail("column %d is beyond its target's width (%d columns)", e.Column, width)
		return
	}
	for th, r := range t.rows {
		if r.n != 0 && e.Column >= r.n {
			fail("column %d is beyond thread %d's row (%d columns)", e.Column, th, r.n)
			return
		}
	}
	if *budget -= len(t.rows) * layout.CellSize(t.Type); *budget < 0 {
		fail("symlinks read more cells than the segment holds (%d thread rows each): not a segment VPP writes", len(t.rows))
		return
	}
	e.threads = len(t.rows)
}

// source returns the rows to read for e, and for a symlink the column to
// read in each (-1: whole rows).
func (d *Dir) source(e *Entry) ([]span, int) {
	if e.Type == TypeSymlink {
		return d.Entries[e.Target].rows, e.Column
	}
	return e.rows, -1
}
