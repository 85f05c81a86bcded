package segwriter

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/internal/statseg/layout"
)

const replayCapture = "../../testdata/vpp/v26.06/a.seg.gz"

func openTestReplay(t *testing.T, file string, interval time.Duration) *Replay {
	t.Helper()
	rp, err := OpenReplay(file, interval)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Close() })
	return rp
}

// servedReplay serves the capture as a replay updated every interval (by
// the test: Run is not started) and connects a reader to it.
func servedReplay(t *testing.T, interval time.Duration) (*Replay, *statseg.Reader) {
	t.Helper()
	rp := openTestReplay(t, replayCapture, interval)
	path := socketPath(t)
	newTestServer(t, path, rp.Fd())
	r, err := statseg.Connect(path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return rp, r
}

// replayView is what a reader sees of the values a replay moves.
type replayView struct {
	epoch                 uint64
	heartbeat, lastUpdate uint64
	boottime              uint64
	rx, tx                layout.Combined // loop0 on the worker: [1][1]
	calls, clocks         uint64          // /sys/node/{calls,clocks} of a node that ran, on the worker
	idleCalls             uint64          // /sys/node/calls of a node that never ran, on the worker
	drops                 uint64          // /if/drops [1][1]: not moved
}

// The worker's columns of /sys/node/calls of the capture: a node that ran
// and one that never did.
func nodeColumns(t *testing.T, r *statseg.Reader) (ran, idle int) {
	t.Helper()
	_, v := lookup(t, readAll(t, r), "/sys/node/calls")
	ran, idle = -1, -1
	for c, x := range v.Simple[1] {
		if x != 0 && ran < 0 {
			ran = c
		}
		if x == 0 && idle < 0 {
			idle = c
		}
	}
	if ran < 0 || idle < 0 {
		t.Fatalf("the capture's worker has no node that ran (%d) or none that did not (%d)", ran, idle)
	}
	return ran, idle
}

func viewOf(t *testing.T, r *statseg.Reader, ran, idle int) replayView {
	t.Helper()
	s := readAll(t, r)
	val := func(name string) *statseg.Value { _, v := lookup(t, s, name); return v }
	return replayView{
		epoch:      s.Dir.Epoch,
		heartbeat:  val("/sys/heartbeat").Scalar,
		lastUpdate: val("/sys/last_update").Scalar,
		boottime:   val("/sys/boottime").Scalar,
		rx:         val("/if/rx").Combined[1][1],
		tx:         val("/if/tx").Combined[1][1],
		calls:      val("/sys/node/calls").Simple[1][ran],
		clocks:     val("/sys/node/clocks").Simple[1][ran],
		idleCalls:  val("/sys/node/calls").Simple[1][idle],
		drops:      val("/if/drops").Simple[1][1],
	}
}

// TestReplayUpdatesLikeVPP: a reader on the stats socket sees the heartbeat,
// last_update and counters move from one read to the next, at the same
// epoch, by exactly the documented steps; everything else stays as
// captured, and what never ran (a node with no calls) stays idle.
func TestReplayUpdatesLikeVPP(t *testing.T) {
	rp, r := servedReplay(t, 10*time.Second)

	ran, idle := nodeColumns(t, r)
	before := viewOf(t, r, ran, idle)
	if before.heartbeat != 2 || before.lastUpdate != 10 {
		t.Fatalf("capture read as heartbeat %d, last_update %d; want 2 and 10 (VPP's dump)", before.heartbeat, before.lastUpdate)
	}
	rp.Update()
	rp.Update()
	after := viewOf(t, r, ran, idle)

	want := before
	want.heartbeat += 2
	want.lastUpdate += 20 // two updates 10 s apart, in seconds as VPP stores it
	want.rx.Packets += 2 * 1000
	want.rx.Bytes += 2 * 64000
	want.tx.Packets += 2 * 1000
	want.tx.Bytes += 2 * 64000
	want.calls += 2 * 10
	want.clocks += 2 * 100000
	if after != want {
		t.Errorf("after two updates a reader sees\n%+v\nwant\n%+v", after, want)
	}

	// Only the listed values moved: the dump of a frozen replay of the
	// same capture differs in exactly those lines.
	frozen, err := statseg.OpenFile(replayCapture)
	if err != nil {
		t.Fatal(err)
	}
	defer frozen.Close()
	moved := map[string]bool{"/sys/heartbeat": true, "/sys/last_update": true}
	for _, m := range replayMoves {
		moved[m.name] = true
	}
	now := readAll(t, r)
	nameAt := map[int]string{}
	for _, e := range now.Dir.Entries {
		nameAt[e.Index] = e.Name
	}
	for _, e := range now.Dir.Entries { // links into moved vectors move too
		if e.Type == layout.TypeSymlink && moved[nameAt[e.Target]] {
			moved[e.Name] = true
		}
	}
	got, orig := strings.Split(dumpOf(t, now), "\n"), strings.Split(dumpOf(t, readAll(t, frozen)), "\n")
	if len(got) != len(orig) {
		t.Fatalf("dump of %d lines, the capture's has %d", len(got), len(orig))
	}
	changed := 0
	for i := range got {
		name := got[i][strings.LastIndexByte(got[i], ' ')+1:]
		switch {
		case got[i] == orig[i]:
		case moved[name]:
			changed++
		default:
			t.Errorf("line %d changed although %s is not updated:\n%s\nwas\n%s", i, name, got[i], orig[i])
		}
	}
	if changed < 10 {
		t.Errorf("only %d dump lines moved", changed)
	}
}

// TestReplayClientsMapReadOnly: clients of an updating replay cannot map
// the segment writable, nor resize it, as with VPP's own segment.
func TestReplayClientsMapReadOnly(t *testing.T) {
	rp := openTestReplay(t, replayCapture, time.Second)
	path := socketPath(t)
	newTestServer(t, path, rp.Fd())
	_, fds := rawReceive(t, path)
	if len(fds) != 1 {
		t.Fatalf("%d fds", len(fds))
	}
	if _, err := unix.Mmap(fds[0], 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err == nil {
		t.Error("an updating replay can be mapped writable by its clients")
	}
	if err := unix.Ftruncate(fds[0], 4096); err == nil {
		t.Error("an updating replay can be truncated by its clients")
	}
}

// TestReplayRun: Run updates on its own every interval until its context
// ends.
func TestReplayRun(t *testing.T) {
	rp, r := servedReplay(t, time.Millisecond)
	ran, idle := nodeColumns(t, r)
	first := viewOf(t, r, ran, idle)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rp.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for viewOf(t, r, ran, idle).heartbeat < first.heartbeat+3 {
		if time.Now().After(deadline) {
			t.Fatal("heartbeat did not move in 10 s of Run at 1 ms")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if v := viewOf(t, r, ran, idle); v.epoch != first.epoch || v.rx.Packets <= first.rx.Packets {
		t.Errorf("after Run: %+v, before %+v", v, first)
	}
}

func TestOpenReplayErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenReplay(replayCapture, 0); err == nil || !strings.Contains(err.Error(), "must be positive") {
		t.Errorf("interval 0: %v", err)
	}
	if _, err := OpenReplay(filepath.Join(dir, "missing.seg"), time.Second); err == nil || !strings.Contains(err.Error(), "missing.seg") {
		t.Errorf("missing file: %v", err)
	}

	// A segment without /sys/heartbeat is no VPP's.
	w := newTestWriter(t, WriterOptions{Size: MinWriterSize})
	must[Scalar](t)(w.AddScalar("/sys/boottime"))
	rx := must[CombinedCounter](t)(w.AddCombinedCounter("/if/rx", 2))
	noHeartbeat := filepath.Join(dir, "no-heartbeat.seg")
	if err := os.WriteFile(noHeartbeat, w.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenReplay(noHeartbeat, time.Second); err == nil || !strings.Contains(err.Error(), "/sys/heartbeat") {
		t.Errorf("no heartbeat: %v", err)
	}

	// A counter vector pointing outside the segment is refused up front,
	// naming the entry, rather than written to.
	must[Scalar](t)(w.AddScalar("/sys/heartbeat"))
	good := filepath.Join(dir, "good.seg")
	if err := os.WriteFile(good, w.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	openTestReplay(t, good, time.Second)
	bad := w.Bytes()
	binary.LittleEndian.PutUint64(bad[w.entryOffset(rx.index)+layout.EntryUnion:], w.base+uint64(len(bad))+4096)
	damaged := filepath.Join(dir, "damaged.seg")
	if err := os.WriteFile(damaged, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenReplay(damaged, time.Second); err == nil || !strings.Contains(err.Error(), "/if/rx") || !strings.Contains(err.Error(), "outside the segment") {
		t.Errorf("damaged /if/rx: %v", err)
	}
}
