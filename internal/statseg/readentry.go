package statseg

import (
	"fmt"
	"runtime/debug"
)

// ReadEntry reads the value of the one entry called name into v, from the
// directory as it is now, consistently (under the same optimistic lock as
// Snapshot). It returns the directory the entry belongs to and the entry,
// or a nil entry when the directory has no entry of that name. An entry
// that cannot be read (Entry.Err) or is empty gets no value.
//
// Snapshot checks the whole directory on every read (VPP adds symlinks
// without bumping the epoch, so only the directory itself tells whether it
// changed), which at hundreds of thousands of entries costs milliseconds.
// ReadEntry checks only the directory's place and length and the words of
// the entry (and of its symlink target): if they are unchanged, the entry
// resolved at this epoch is still the one in the segment. A name the
// resolved directory lacks makes it check the whole directory, since VPP
// may have added it since. v's slices are reused from one call to the next.
func (r *Reader) ReadEntry(name string, v *Value) (d *Dir, e *Entry, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, nil, r.errClosed()
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer r.recoverFault(&err)
	for range max(r.Attempts, 1) {
		epoch, ok := r.waitIdle()
		if !ok {
			return nil, nil, fmt.Errorf("%s: %w (in_progress stayed set for %v)", r.source, ErrBusy, r.BusyWait)
		}
		d, e, err = r.entry(epoch, name)
		if err != nil {
			if r.unchanged(epoch) {
				return nil, nil, fmt.Errorf("%s: %w", r.source, err)
			}
			continue
		}
		if e != nil && e.Err == nil && e.Type != TypeEmpty {
			readValue(r.seg, d, e, v)
		}
		if r.unchanged(epoch) {
			return d, e, nil
		}
	}
	return nil, nil, fmt.Errorf("%s: %w (epoch moved during %d attempts)", r.source, ErrBusy, max(r.Attempts, 1))
}

// entry finds name in the directory at epoch, checking only that entry
// when the directory resolved last is at that epoch and still in place.
func (r *Reader) entry(epoch uint64, name string) (*Dir, *Entry, error) {
	if d := r.dir; d != nil && d.Epoch == epoch {
		if e, ok := d.Lookup(name); ok && d.entryCurrent(r.seg, r.seg.load64(headerDirectory), e) {
			return d, e, nil
		}
	}
	d, err := r.directory(epoch)
	if err != nil {
		return nil, nil, err
	}
	e, _ := d.Lookup(name)
	return d, e, nil
}

// entryCurrent reports whether e, and the target of a symlink, are still
// what the segment's directory holds: same directory place and length, same
// type and union words. Entries are filled before the directory's length
// grows over them, and a reused slot changes its type, so these words
// change whenever VPP replaces the entry.
func (d *Dir) entryCurrent(s *segment, dirPtr uint64, e *Entry) bool {
	words, ok := d.inPlace(s, dirPtr)
	if !ok || !d.sameEntry(words, e.Index) {
		return false
	}
	return e.Type != TypeSymlink || e.Target >= len(d.Entries) || d.sameEntry(words, e.Target)
}
