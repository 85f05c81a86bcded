package statseg

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
	"unsafe"
)

// ErrBusy is returned when VPP kept changing the directory for the whole
// time a read was allowed to take. It is transient: try again later.
var ErrBusy = errors.New("statseg: VPP kept updating the stats directory; read abandoned, try again")

// Reader reads a stats segment with VPP's optimistic locking protocol. It
// never writes to the segment and never blocks VPP.
//
// Reads (Snapshot, Directory, ReadEntry, Copy) and Close may be called from
// any goroutine: they take turns, so Close waits for a read in progress to
// end (a read is bounded by Attempts × BusyWait) before it unmaps the
// segment, and every read after Close returns an error wrapping
// os.ErrClosed.
type Reader struct {
	// mu serializes reads with each other and with Close: the mapping is
	// only touched while mu is held and closed is false.
	mu     sync.Mutex
	closed bool

	seg    *segment
	source string
	closer func() error

	// BusyWait bounds how long one attempt waits for VPP to finish a
	// directory change (in_progress != 0).
	BusyWait time.Duration
	// Attempts bounds how many times a read restarts because the epoch moved.
	Attempts int

	dir  *Dir     // the directory at the last epoch seen
	conn connInfo // the socket and segment Connect saw (client.go)
}

// Default bounds of the locking protocol. VPP holds the lock for
// microseconds; a lock held for longer is a VPP stuck (or dead) mid-change.
const (
	DefaultBusyWait = 100 * time.Millisecond
	DefaultAttempts = 10
)

func newReader(data []byte, source string, closer func() error) (*Reader, error) {
	if len(data) < headerSize {
		if closer != nil {
			closer()
		}
		return nil, fmt.Errorf("%s: %d bytes is too small for a stats segment header", source, len(data))
	}
	if uintptr(unsafe.Pointer(&data[0]))%8 != 0 {
		// Header words are read atomically and counters as u64 slices:
		// both want 8-byte alignment. Mappings are page aligned; only a
		// caller's odd slice gets here.
		aligned := make([]uint64, (len(data)+7)/8)
		b := unsafe.Slice((*byte)(unsafe.Pointer(&aligned[0])), len(aligned)*8)[:len(data)]
		copy(b, data)
		data = b
	}
	r := &Reader{
		seg:      newSegment(data),
		source:   source,
		closer:   closer,
		BusyWait: DefaultBusyWait,
		Attempts: DefaultAttempts,
	}
	if v := r.seg.load64(headerVersion); v != SegmentVersion {
		r.Close()
		return nil, fmt.Errorf("%s: stats segment version %d: %s", source, v, supportedVersions)
	}
	r.seg.base = r.seg.load64(headerBase)
	if r.seg.legacyLayout() {
		r.Close()
		return nil, fmt.Errorf("%s: stats segment of a VPP older than 22.06 (version 2 with an error-counter vector in its header and another type numbering): %s", source, supportedVersions)
	}
	return r, nil
}

// supportedVersions says which VPPs this reader reads, for errors that
// refuse a segment.
const supportedVersions = "this reader supports the layout of VPP 22.06 and later (tested with 25.10 and 26.06)"

// FromBytes reads a segment held in memory, such as a capture. data must
// stay unchanged while the reader uses it, except the way VPP changes it.
func FromBytes(data []byte) (*Reader, error) { return newReader(data, "segment", nil) }

// Source names what the reader reads (socket path or file name).
func (r *Reader) Source() string { return r.source }

// Size is the size of the mapped segment in bytes.
func (r *Reader) Size() int { return len(r.seg.data) }

// Close releases the mapping, after any read in progress has ended. Slices
// obtained from the reader stay valid: the entries' values were copied out
// of the mapping. Reads after Close return an error wrapping os.ErrClosed.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	return c()
}

// errClosed is what a read of a closed reader returns. Reads hold r.mu
// throughout (locked and unlocked in place: a returned unlock func would
// allocate on every read) and check r.closed first.
func (r *Reader) errClosed() error {
	return fmt.Errorf("%s: reading a closed stats segment reader: %w", r.source, os.ErrClosed)
}

// Value is an entry's value as of the last Snapshot. Slices are reused from
// one snapshot to the next.
type Value struct {
	Scalar    uint64       // scalars and gauges
	Simple    [][]uint64   // simple counters [thread][index]; symlinks: [thread][1]
	Combined  [][]Combined // combined counters, as Simple
	Histogram [][]uint64   // histogram_log2 bins [thread][bin]
}

// Snapshot holds a consistent view of the entries a caller wants: the
// directory, and for each wanted entry its value. Reuse one Snapshot across
// reads: at an unchanged epoch a read allocates nothing.
type Snapshot struct {
	Dir    *Dir
	Values []Value // parallel to Dir.Entries; only wanted entries are filled
	Wanted []int   // indexes of the wanted, readable entries
	// Errs holds the errors of wanted entries that cannot be read.
	Errs []error
}

// Cells counts the counter cells (a combined packets/bytes pair is one
// cell) and histogram bins that the last read copied.
func (s *Snapshot) Cells() int {
	cells := 0
	for _, i := range s.Wanted {
		v := &s.Values[i]
		for _, row := range v.Simple {
			cells += len(row)
		}
		for _, row := range v.Combined {
			cells += len(row)
		}
		for _, row := range v.Histogram {
			cells += len(row)
		}
	}
	return cells
}

// All wants every entry.
func All(*Entry) bool { return true }

// Snapshot refreshes s with the entries for which want returns true (nil
// means all). want is asked once per directory epoch, so it must depend on
// the entry alone. The result is consistent: it was read while VPP did not
// change the directory. Entries that cannot be read are listed in s.Errs and
// do not fail the snapshot.
func (r *Reader) Snapshot(s *Snapshot, want func(*Entry) bool) (err error) {
	if want == nil {
		want = All
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.errClosed()
	}
	// A producer that truncates its memfd under us turns reads into SIGBUS;
	// make that an error of this read rather than the end of the process.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer r.recoverFault(&err)
	for range max(r.Attempts, 1) {
		epoch, ok := r.waitIdle()
		if !ok {
			return fmt.Errorf("%s: %w (in_progress stayed set for %v)", r.source, ErrBusy, r.BusyWait)
		}
		dir, err := r.directory(epoch)
		if err != nil {
			if r.unchanged(epoch) {
				return fmt.Errorf("%s: %w", r.source, err)
			}
			continue // read while VPP moved things: try again
		}
		if s.Dir != dir {
			s.select_(dir, want)
		}
		s.read(r.seg)
		if r.unchanged(epoch) {
			return nil
		}
	}
	return fmt.Errorf("%s: %w (epoch moved during %d attempts)", r.source, ErrBusy, max(r.Attempts, 1))
}

// recoverFault turns a memory fault on the mapping (SIGBUS after the
// producer truncated its memfd) into an error. Any other panic is a bug and
// goes on.
func (r *Reader) recoverFault(err *error) {
	p := recover()
	if p == nil {
		return
	}
	if _, fault := p.(interface{ Addr() uintptr }); !fault {
		panic(p)
	}
	*err = fmt.Errorf("%s: the stats segment became unreadable (did VPP truncate or unmap it?): %v", r.source, p)
}

// Directory returns the directory at the current epoch, consistent with it.
func (r *Reader) Directory() (d *Dir, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, r.errClosed()
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer r.recoverFault(&err)
	for range max(r.Attempts, 1) {
		epoch, ok := r.waitIdle()
		if !ok {
			return nil, fmt.Errorf("%s: %w (in_progress stayed set for %v)", r.source, ErrBusy, r.BusyWait)
		}
		d, err := r.directory(epoch)
		if r.unchanged(epoch) {
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.source, err)
			}
			return d, nil
		}
	}
	return nil, fmt.Errorf("%s: %w (epoch moved during %d attempts)", r.source, ErrBusy, max(r.Attempts, 1))
}

// waitIdle waits, bounded by BusyWait, until no directory change is in
// progress and returns the epoch at that moment.
func (r *Reader) waitIdle() (uint64, bool) {
	var deadline time.Time
	for spins := 0; ; spins++ {
		epoch := r.seg.load64(headerEpoch)
		if r.seg.load64(headerInProgress) == 0 {
			return epoch, true
		}
		if spins < 100 {
			runtime.Gosched()
			continue
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(r.BusyWait)
		} else if time.Now().After(deadline) {
			return 0, false
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// unchanged reports whether the segment is still at epoch and idle, which
// makes everything read since that epoch was seen valid.
func (r *Reader) unchanged(epoch uint64) bool {
	return r.seg.load64(headerInProgress) == 0 && r.seg.load64(headerEpoch) == epoch
}

// directory returns the resolved directory at epoch, resolving it anew
// only when the epoch moved.
func (r *Reader) directory(epoch uint64) (*Dir, error) {
	dirPtr := r.seg.load64(headerDirectory)
	if r.dir != nil && r.dir.Epoch == epoch && r.dir.current(r.seg, dirPtr) {
		return r.dir, nil
	}
	d, err := r.seg.resolve(epoch, dirPtr)
	if err != nil {
		return nil, err
	}
	r.dir = d
	return d, nil
}

// select_ points s at a new directory and decides which entries it reads.
func (s *Snapshot) select_(d *Dir, want func(*Entry) bool) {
	s.Dir = d
	s.Wanted = s.Wanted[:0]
	s.Errs = s.Errs[:0]
	if cap(s.Values) >= len(d.Entries) {
		s.Values = s.Values[:len(d.Entries)]
		clear(s.Values)
	} else {
		s.Values = make([]Value, len(d.Entries))
	}
	for i := range d.Entries {
		e := &d.Entries[i]
		if e.Type == TypeEmpty || !want(e) {
			continue
		}
		if e.Err != nil {
			s.Errs = append(s.Errs, e.Err)
			continue
		}
		s.Wanted = append(s.Wanted, i)
	}
}

// read copies the wanted values out of the mapping into s's buffers.
func (s *Snapshot) read(seg *segment) {
	for _, i := range s.Wanted {
		readValue(seg, s.Dir, &s.Dir.Entries[i], &s.Values[i])
	}
}

// readValue copies the value of e, a readable entry of d, into v.
func readValue(seg *segment, d *Dir, e *Entry, v *Value) {
	switch e.DataType {
	case TypeScalar, TypeGauge:
		v.Scalar = seg.load64(e.valueOff)
	case TypeCounterSimple:
		rows, col := d.source(e)
		v.Simple = copySimple(v.Simple, rows, col, seg.words)
	case TypeCounterCombined:
		rows, col := d.source(e)
		v.Combined = copyCombined(v.Combined, rows, col, seg)
	case TypeHistogramLog2:
		v.Histogram = copySimple(v.Histogram, e.rows, -1, seg.words)
	}
}

// resizeRows gives dst len(rows) rows of the rows' lengths (one cell each
// for a column), reusing its slices.
func resizeRows[T any](dst [][]T, rows []span, column int) [][]T {
	if cap(dst) < len(rows) {
		dst = append(dst[:cap(dst)], make([][]T, len(rows)-cap(dst))...)
	}
	dst = dst[:len(rows)]
	for t, r := range rows {
		n := r.n
		if column >= 0 && n > 0 {
			n = 1
		}
		if cap(dst[t]) < n {
			dst[t] = make([]T, n)
		}
		dst[t] = dst[t][:n]
	}
	return dst
}

// copySimple copies u64 rows (or one column of them) into dst. A symlink's
// single cell is assigned, not copied: there are hundreds of thousands.
func copySimple(dst [][]uint64, rows []span, column int, words []uint64) [][]uint64 {
	dst = resizeRows(dst, rows, column)
	for t, r := range rows {
		w := r.off / 8
		switch {
		case r.n == 0:
		case column >= 0:
			dst[t][0] = words[w+column]
		default:
			copy(dst[t], words[w:w+r.n])
		}
	}
	return dst
}

// copyCombined copies combined rows (or one column of them) into dst.
func copyCombined(dst [][]Combined, rows []span, column int, seg *segment) [][]Combined {
	dst = resizeRows(dst, rows, column)
	for t, r := range rows {
		switch {
		case r.n == 0:
		case column >= 0:
			w := r.off/8 + 2*column
			dst[t][0] = Combined{Packets: seg.words[w], Bytes: seg.words[w+1]}
		default:
			copy(dst[t], seg.combined(r.off, r.n))
		}
	}
	return dst
}

// Copy returns a consistent copy of the whole segment: taken while no
// directory change was in progress and the epoch did not move.
func (r *Reader) Copy() (out []byte, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, r.errClosed()
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer r.recoverFault(&err)
	out = make([]byte, len(r.seg.data))
	for range max(r.Attempts, 1) {
		epoch, ok := r.waitIdle()
		if !ok {
			return nil, fmt.Errorf("%s: %w (in_progress stayed set for %v)", r.source, ErrBusy, r.BusyWait)
		}
		copy(out, r.seg.data)
		if r.unchanged(epoch) {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s: %w (epoch moved during %d attempts)", r.source, ErrBusy, max(r.Attempts, 1))
}
