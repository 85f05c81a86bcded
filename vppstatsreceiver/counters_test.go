package vppstatsreceiver

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestCounterStateStarts(t *testing.T) {
	s := newCounterState([]string{"eth0"}, 1)
	st := starts{first: 100, reset: 200}
	require.Equal(t, pcommon.Timestamp(100), s.observe(0, 5, st), "first sight: boot or previous scrape")
	require.Equal(t, pcommon.Timestamp(100), s.observe(0, 7, starts{first: 300, reset: 300}), "a growing series keeps its start")
	require.Equal(t, pcommon.Timestamp(400), s.observe(0, 2, starts{first: 400, reset: 400}), "a drop starts the series anew")
	require.Equal(t, pcommon.Timestamp(400), s.observe(0, 2, starts{first: 500, reset: 500}), "an unchanged value keeps its start")
}

// TestCounterStateClearTime: VPP publishes node counters once per update
// interval, so `clear runtime` at 150 may show as a drop only at the scrape
// of 300, after a scrape at 200 that still saw the old values. The series
// restarts at the clear, not at the previous scrape.
func TestCounterStateClearTime(t *testing.T) {
	s := newCounterState([]string{"ip4-lookup"}, 1)
	require.Equal(t, pcommon.Timestamp(10), s.observe(0, 1000, starts{first: 10, reset: 10}))
	require.Equal(t, pcommon.Timestamp(10), s.observe(0, 1100, starts{first: 100, reset: 100, clear: 150}), "before the drop")
	require.Equal(t, pcommon.Timestamp(150), s.observe(0, 3, starts{first: 200, reset: 200, clear: 150}), "the drop")
	// A later drop not explained by a newer clear starts at the previous scrape.
	require.Equal(t, pcommon.Timestamp(150), s.observe(0, 5, starts{first: 300, reset: 300, clear: 150}))
	require.Equal(t, pcommon.Timestamp(400), s.observe(0, 1, starts{first: 400, reset: 400, clear: 150}))
}

func TestCounterStateCarryByIdentity(t *testing.T) {
	old := newCounterState([]string{"local0", "eth0", "eth1"}, 2)
	for k := range 6 {
		old.observe(k, uint64(10+k), starts{first: 100})
	}
	// eth1's index now holds eth2; a fourth column appeared.
	cur := newCounterState([]string{"local0", "eth0", "eth2", "eth3"}, 2)
	cur.carry(old)
	require.Equal(t, []uint64{10, 11, 12, 13, 0, 0, 0, 0}, cur.prev)
	require.Equal(t, []pcommon.Timestamp{100, 100, 100, 100, 0, 0, 0, 0}, cur.start)

	// Other thread rows: nothing carries (the series are not the same).
	other := newCounterState([]string{"local0"}, 1)
	other.carry(old)
	require.Equal(t, []uint64{0}, other.prev)

	cur.reset()
	require.Equal(t, make([]uint64, 8), cur.prev)
	require.Equal(t, make([]pcommon.Timestamp, 8), cur.start)
}

func TestSaturate(t *testing.T) {
	require.Equal(t, int64(5), saturate(5))
	require.Equal(t, int64(math.MaxInt64), saturate(math.MaxInt64))
	require.Equal(t, int64(math.MaxInt64), saturate(math.MaxInt64+1))
	require.Equal(t, int64(math.MaxInt64), saturate(math.MaxUint64))
	require.Equal(t, uint64(3), addSat(1, 2))
	require.Equal(t, uint64(math.MaxUint64), addSat(math.MaxUint64-1, 2))
}
