package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// counterState is the state of the cumulative series of one source: the
// last value and the start time of each, indexed by column*threads+thread.
// A start of 0 means "not started yet".
type counterState struct {
	ident []string // identity of each column's object when the state was recorded
	nt    int      // series per column: threads (per_thread) or 1
	prev  []uint64
	start []pcommon.Timestamp
}

func newCounterState(ident []string, threads int) *counterState {
	n := len(ident) * threads
	return &counterState{ident: ident, nt: threads, prev: make([]uint64, n), start: make([]pcommon.Timestamp, n)}
}

// starts are the start times a scrape gives to series that begin.
type starts struct {
	first pcommon.Timestamp // a series seen for the first time
	reset pcommon.Timestamp // a series whose value went backwards
	// clear is when VPP last cleared the series' counters (`clear
	// runtime`, /sys/last_stats_clear), 0 if unknown or never. VPP
	// publishes node counters once per update interval, so the drop may be
	// seen a scrape after the clear: the clear time, not the previous
	// scrape, is when the new series began.
	clear pcommon.Timestamp
}

// observe records value v of series k and returns the series' start time.
func (s *counterState) observe(k int, v uint64, st starts) pcommon.Timestamp {
	start := s.start[k]
	switch {
	case v < s.prev[k]:
		if st.clear > start {
			start = st.clear
		} else {
			start = st.reset
		}
	case start == 0:
		start = max(st.first, st.clear)
	}
	s.start[k], s.prev[k] = start, v
	return start
}

// carry takes over the state of old for every column whose object is the
// same (same identity at the same index, same number of thread rows). A
// column whose object changed (a new interface, a reused index) starts anew.
func (s *counterState) carry(old *counterState) {
	if old == nil || old.nt != s.nt {
		return
	}
	for c := range min(len(s.ident), len(old.ident)) {
		if s.ident[c] != old.ident[c] {
			continue
		}
		copy(s.prev[c*s.nt:(c+1)*s.nt], old.prev[c*old.nt:(c+1)*old.nt])
		copy(s.start[c*s.nt:(c+1)*s.nt], old.start[c*old.nt:(c+1)*old.nt])
	}
}

// reset forgets every series (VPP restarted).
func (s *counterState) reset() {
	clear(s.prev)
	clear(s.start)
}

// saturate converts a VPP counter to an OTel int value: a u64 past the
// int64 range stays at its maximum rather than wrapping to a negative.
func saturate(v uint64) int64 {
	return int64(min(v, math.MaxInt64))
}

// addSat adds without wrapping: a sum past the u64 range stays at its
// maximum.
func addSat(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint64
}
