package vppsim

import (
	"fmt"
	"testing"
	"time"
)

// TestLoopsPerWorkerIsARate: VPP's collector sets /sys/loops_per_worker to
// each thread's current main-loop rate; it does not add to it. Passes at
// the same load leave it where it was; the main thread, waiting in epoll,
// loops far less than a polling worker.
func TestLoopsPerWorkerIsARate(t *testing.T) {
	s := newSim(t, Options{Threads: 2, Rate: 1e6})
	_, first := get(t, snapshot(t, s), "/sys/loops_per_worker")
	for range 3 {
		s.Collect()
	}
	_, later := get(t, snapshot(t, s), "/sys/loops_per_worker")
	if fmt.Sprint(later.Simple) != fmt.Sprint(first.Simple) {
		t.Errorf("idle collector passes changed loops_per_worker from %v to %v: accumulated, not set", first.Simple, later.Simple)
	}
	row := later.Simple[0]
	if len(row) != 3 || row[0] == 0 || row[1] <= 100*row[0] || row[2] != row[1] {
		t.Errorf("loops_per_worker %v: want main thread > 0 and each worker > 100× main", row)
	}
	s.Advance(10 * time.Second)
	s.Collect()
	_, busy := get(t, snapshot(t, s), "/sys/loops_per_worker")
	if busy.Simple[0][1] >= row[1] {
		t.Errorf("a worker under load loops as often (%d) as idle (%d)", busy.Simple[0][1], row[1])
	}
}

// TestSymlinksLockedAsInVPP: VPP adds error-counter and memory-heap
// symlinks without the segment lock (no new epoch) and those of nodes and
// interfaces under it (one epoch each here). So more error counters make
// no more epochs, and more nodes do.
func TestSymlinksLockedAsInVPP(t *testing.T) {
	epoch := func(o Options) uint64 { return newSim(t, o).Writer().Epoch() }
	base := epoch(Options{Errors: 10, Nodes: 10})
	if more := epoch(Options{Errors: 100, Nodes: 10}); more != base {
		t.Errorf("90 more error counters moved the epoch by %d; VPP adds their symlinks without the lock", int64(more-base))
	}
	if more := epoch(Options{Errors: 10, Nodes: 20}); more <= base {
		t.Errorf("10 more nodes did not move the epoch (%d, %d); VPP adds their symlinks under the lock", base, more)
	}
}
