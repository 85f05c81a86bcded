//go:build vpp

package segwriter

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vppstats/vppstats/internal/vpptest"
)

// dumpValue returns the number that starts the dump line of name: the value
// of a scalar, or the packets of cell [index @ thread] of a counter.
func dumpValue(t *testing.T, dump, prefix, name string) uint64 {
	t.Helper()
	for _, line := range strings.Split(dump, "\n") {
		if !strings.HasSuffix(line, " "+name) || !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(line, prefix))
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("dump line %q: %v", line, err)
		}
		return uint64(v)
	}
	t.Fatalf("no %q line for %s in vpp_get_stats dump:\n%s", prefix, name, dump)
	return 0
}

// TestVPPGetStatsReadsUpdatingReplay: VPP's own C reader reads a replay
// that is being updated, without error, and sees its heartbeat, last_update
// and interface counters move by the replay's steps.
func TestVPPGetStatsReadsUpdatingReplay(t *testing.T) {
	rp := openTestReplay(t, replayCapture, 10*time.Second)
	sock := socketPath(t)
	newTestServer(t, sock, rp.Fd())

	read := func() (heartbeat, lastUpdate, rx uint64) {
		out := vpptest.MustGetStatsOn(t, sock, "dump", "^/sys/heartbeat$", "^/sys/last_update$", "^/if/rx$")
		return dumpValue(t, out, "", "/sys/heartbeat"), dumpValue(t, out, "", "/sys/last_update"), dumpValue(t, out, "[1 @ 1]: ", "/if/rx")
	}
	hb0, lu0, rx0 := read()
	rp.Update()
	hb1, lu1, rx1 := read()
	if hb1 != hb0+1 || lu1 != lu0+10 || rx1 != rx0+1000 {
		t.Errorf("vpp_get_stats after one update: heartbeat %d->%d, last_update %d->%d, /if/rx[1 @ 1] %d->%d packets; want +1, +10, +1000",
			hb0, hb1, lu0, lu1, rx0, rx1)
	}

	// Whole dumps while a replay updates every millisecond: VPP's reader
	// never sees a directory change, so it reads without error.
	fast := openTestReplay(t, replayCapture, time.Millisecond)
	fastSock := socketPath(t)
	newTestServer(t, fastSock, fast.Fd())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fast.Run(ctx) }()
	var beats []uint64
	for range 3 {
		out := vpptest.MustGetStatsOn(t, fastSock, "dump")
		if n := strings.Count(out, "\n"); n < 20000 {
			t.Errorf("vpp_get_stats dump of the updating replay: %d lines", n)
		}
		beats = append(beats, dumpValue(t, out, "", "/sys/heartbeat"))
	}
	t.Logf("heartbeat in three dumps at 1 ms updates: %v", beats)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
