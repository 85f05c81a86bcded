package segwriter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vppstats/vppstats/internal/statseg/layout"
)

// A Replay is a saved segment (a capture) that keeps changing the way a
// running VPP's segment does between directory changes, so that readers of
// a replay see what readers of a live VPP see: every update interval VPP's
// stats collector writes /sys/heartbeat and /sys/last_update in place (the
// entry's union, no lock, no epoch change), and interface and node counters
// grow meanwhile. The directory and every vector stay where the capture put
// them: the epoch never moves.
//
// Update is one pass; Run calls it every interval. Both belong to one
// goroutine (VPP has one stats collector), and Close comes after Run
// returned. What moves, and by how much, is the table replayMoves (plus
// heartbeat and last_update): fixed steps, so a replay is deterministic.
type Replay struct {
	fd       int
	mem      []byte // our read-write mapping of fd
	interval time.Duration

	heartbeat  uint64 // offset of /sys/heartbeat's value
	lastUpdate uint64 // offset of /sys/last_update's value; 0 if absent
	lastStart  uint64 // /sys/last_update as captured
	moving     []movingCell
	updates    uint64
}

// replayMoves lists the counter vectors that a replay advances on every
// update, in every thread row and every column, with the step per update:
// interface traffic (64-byte packets) and the per-node counters that VPP's
// stats collector refreshes. Entries missing from a segment (node counters
// without `per-node-counters on`) are skipped.
var replayMoves = []struct {
	name           string
	packets, bytes uint64 // bytes only for combined counters
}{
	{"/if/rx", 1000, 64000},
	{"/if/tx", 1000, 64000},
	{"/sys/node/calls", 10, 0},
	{"/sys/node/vectors", 1000, 0},
	{"/sys/node/clocks", 100000, 0},
}

// ReplayUpdates says in words what Update changes, from replayMoves, for
// help texts.
func ReplayUpdates() string {
	var b strings.Builder
	b.WriteString(heartbeatName + " +1, " + lastUpdateName + " +D (whole seconds)")
	for _, m := range replayMoves {
		fmt.Fprintf(&b, ", every cell of %s +%d", m.name, m.packets)
		if m.bytes != 0 {
			fmt.Fprintf(&b, " packets +%d bytes", m.bytes)
		}
	}
	return b.String()
}

// movingCell is one u64 of the segment that grows by step on every update.
type movingCell struct{ off, step uint64 }

// Scalars the stats collector writes on every update.
const (
	heartbeatName  = "/sys/heartbeat"
	lastUpdateName = "/sys/last_update"
)

// OpenReplay loads a saved segment (plain, or gzip if its name ends in .gz)
// into a new memfd for Run to update every interval (> 0). Clients get the
// memfd sealed against writes, growing and shrinking: they can only map it
// read-only, as VPP's clients do, while the Replay writes through the one
// writable mapping made before the seal.
func OpenReplay(segmentPath string, interval time.Duration) (*Replay, error) {
	if interval <= 0 {
		return nil, fmt.Errorf("segwriter: replay %s: update interval %v must be positive (serve the file frozen instead)", segmentPath, interval)
	}
	data, err := layout.ReadFile(segmentPath)
	if err != nil {
		return nil, err
	}
	fd, err := filledMemfd(data)
	if err != nil {
		return nil, err
	}
	mem, err := unix.Mmap(fd, 0, len(data), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("segwriter: replay %s: mapping the memfd: %w", segmentPath, err)
	}
	r := &Replay{fd: fd, mem: mem, interval: interval}
	if err := r.sealFutureWrites(); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.findTargets(); err != nil {
		r.Close()
		return nil, fmt.Errorf("segwriter: replay %s: %w", segmentPath, err)
	}
	return r, nil
}

// sealFutureWrites seals the memfd against every new writable mapping and
// write(2), but not against the mapping we already hold
// (F_SEAL_FUTURE_WRITE, Linux 5.1). On an older kernel the memfd is sealed
// against resizing only: clients still map it read-only by their own choice.
func (r *Replay) sealFutureWrites() error {
	const fixedSize = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL
	_, err := unix.FcntlInt(uintptr(r.fd), unix.F_ADD_SEALS, fixedSize|unix.F_SEAL_FUTURE_WRITE)
	if errors.Is(err, unix.EINVAL) {
		_, err = unix.FcntlInt(uintptr(r.fd), unix.F_ADD_SEALS, fixedSize)
	}
	if err != nil {
		return fmt.Errorf("segwriter: sealing the replay memfd: %w", err)
	}
	return nil
}

// Fd is the memfd to serve (NewServer duplicates it).
func (r *Replay) Fd() int { return r.fd }

// Update makes one pass of VPP's stats collector: heartbeat plus one,
// last_update one interval later (whole seconds since VPP started, as VPP
// stores it), and every moving counter one step further. Each u64 is
// written whole, in place, without a lock or epoch change, as VPP does.
func (r *Replay) Update() {
	r.updates++
	atomic.AddUint64(r.word(r.heartbeat), 1)
	if r.lastUpdate != 0 {
		elapsed := time.Duration(r.updates) * r.interval
		atomic.StoreUint64(r.word(r.lastUpdate), r.lastStart+uint64(elapsed/time.Second))
	}
	for _, c := range r.moving {
		atomic.AddUint64(r.word(c.off), c.step)
	}
}

// Run updates the segment every interval until ctx is done.
func (r *Replay) Run(ctx context.Context) error {
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			r.Update()
		}
	}
}

// Close unmaps and closes the memfd; a Server serving it keeps its own
// duplicate, and clients keep their mappings (frozen from now on, as after
// VPP exits).
func (r *Replay) Close() error {
	var err error
	if r.mem != nil {
		err = unix.Munmap(r.mem)
		r.mem = nil
	}
	if r.fd >= 0 {
		if cerr := unix.Close(r.fd); err == nil {
			err = cerr
		}
		r.fd = -1
	}
	return err
}

func (r *Replay) word(off uint64) *uint64 {
	return (*uint64)(unsafe.Pointer(&r.mem[off]))
}

// findTargets walks the directory once (the replay never changes it) and
// records where the values that Update moves live. Every pointer is checked
// against the mapping, so a damaged file is an error here, not a fault in
// Update.
func (r *Replay) findTargets() error {
	s := replaySeg{mem: r.mem} // filledMemfd checked the header
	s.base = s.u64(layout.HeaderBase)
	dir, n, err := s.vector(s.u64(layout.HeaderDirectory), layout.EntrySize)
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	steps := make(map[string]int, len(replayMoves))
	for i, m := range replayMoves {
		steps[m.name] = i
	}
	for i := range n {
		e := dir + uint64(i)*layout.EntrySize
		name := entryName(r.mem[e+layout.EntryName : e+layout.EntrySize])
		typ := layout.Type(binary.LittleEndian.Uint32(r.mem[e+layout.EntryType:]))
		union := e + layout.EntryUnion
		value := typ == layout.TypeScalar || typ == layout.TypeGauge // u64 in the union
		switch {
		case name == heartbeatName && value:
			r.heartbeat = union
		case name == lastUpdateName && value:
			r.lastUpdate, r.lastStart = union, s.u64(union)
		case typ == layout.TypeCounterSimple || typ == layout.TypeCounterCombined:
			m, ok := steps[name]
			if !ok {
				continue
			}
			if err := r.addMoving(s, s.u64(union), typ, replayMoves[m].packets, replayMoves[m].bytes); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	if r.heartbeat == 0 {
		return fmt.Errorf("no scalar %s: not a VPP stats segment a replay can keep alive", heartbeatName)
	}
	return nil
}

// addMoving records every cell of the counter vector at ptr (a vector of
// per-thread rows).
func (r *Replay) addMoving(s replaySeg, ptr uint64, typ layout.Type, packets, bytes uint64) error {
	rows, threads, err := s.vector(ptr, layout.PointerSize)
	if err != nil {
		return err
	}
	cell := uint64(layout.CellSize(typ))
	for t := range threads {
		row, n, err := s.vector(s.u64(rows+uint64(t)*layout.PointerSize), int(cell))
		if err != nil {
			return fmt.Errorf("thread %d: %w", t, err)
		}
		for k := range uint64(n) {
			r.moving = append(r.moving, movingCell{row + k*cell, packets})
			if typ == layout.TypeCounterCombined {
				r.moving = append(r.moving, movingCell{row + k*cell + layout.CounterSize, bytes})
			}
		}
	}
	return nil
}

// replaySeg reads the raw layout of a mapped segment, with bounds checks.
type replaySeg struct {
	mem  []byte
	base uint64
}

func (s replaySeg) u64(off uint64) uint64 { return binary.LittleEndian.Uint64(s.mem[off:]) }

// vector returns the offset and length of the vector VPP's pointer ptr
// points at, checking that its header and its n elements of elt bytes lie
// in the mapping and that it is 8-byte aligned.
func (s replaySeg) vector(ptr uint64, elt int) (off uint64, n int, err error) {
	size := uint64(len(s.mem))
	off = ptr - s.base
	if ptr < s.base || off < layout.VecHeaderSize || off >= size || off%8 != 0 {
		return 0, 0, fmt.Errorf("vector pointer %#x outside the segment (base %#x, %d bytes) or unaligned", ptr, s.base, size)
	}
	n = int(binary.LittleEndian.Uint32(s.mem[off-layout.VecHeaderSize:]))
	if uint64(n)*uint64(elt) > size-off {
		return 0, 0, fmt.Errorf("vector at %#x: %d elements of %d bytes run past the segment's end", ptr, n, elt)
	}
	return off, n, nil
}

// entryName is the NUL-terminated name of a directory entry.
func entryName(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
