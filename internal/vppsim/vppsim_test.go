package vppsim

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/statseg"
)

func newSim(t *testing.T, o Options) *Sim {
	t.Helper()
	if o.SegmentSize == 0 {
		o.SegmentSize = 4 << 20
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func snapshot(t *testing.T, s *Sim) *statseg.Snapshot {
	t.Helper()
	r, err := statseg.FromBytes(s.Writer().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	var snap statseg.Snapshot
	if err := r.Snapshot(&snap, nil); err != nil {
		t.Fatal(err)
	}
	if len(snap.Errs) != 0 {
		t.Fatalf("unreadable entries: %v", snap.Errs)
	}
	return &snap
}

func get(t *testing.T, snap *statseg.Snapshot, name string) (*statseg.Entry, *statseg.Value) {
	t.Helper()
	for i := range snap.Dir.Entries {
		if snap.Dir.Entries[i].Name == name {
			return &snap.Dir.Entries[i], &snap.Values[i]
		}
	}
	t.Fatalf("%s not published", name)
	return nil, nil
}

func has(snap *statseg.Snapshot, name string) bool {
	_, ok := snap.Dir.Lookup(name)
	return ok
}

func TestPublishesWhatVPPPublishes(t *testing.T) {
	s := newSim(t, Options{Interfaces: 3, Threads: 2, Nodes: 10, Errors: 40})
	snap := snapshot(t, s)

	for name, want := range map[string]statseg.Type{
		"/sys/heartbeat": statseg.TypeScalar, "/sys/boottime": statseg.TypeScalar,
		"/sys/last_update": statseg.TypeScalar, "/sys/last_stats_clear": statseg.TypeScalar,
		"/sys/vector_rate": statseg.TypeGauge, "/sys/input_rate": statseg.TypeGauge,
		"/sys/num_worker_threads":                statseg.TypeGauge,
		"/sys/vector_rate_per_worker":            statseg.TypeCounterSimple,
		"/sys/loops_per_worker":                  statseg.TypeCounterSimple,
		"/mem/stat segment":                      statseg.TypeCounterSimple,
		"/mem/main heap/used":                    statseg.TypeSymlink,
		"/sys/node/names":                        statseg.TypeNameVector,
		"/sys/node/clocks":                       statseg.TypeCounterSimple,
		"/nodes/ip4-icmp-echo-reply/suspends":    statseg.TypeSymlink,
		"/node/errors":                           statseg.TypeCounterSimple,
		"/err/ip4-input/ip4 length > l2 length":  statseg.TypeSymlink,
		"/if/names":                              statseg.TypeNameVector,
		"/if/rx-broadcast":                       statseg.TypeCounterCombined,
		"/if/rx-no-buf":                          statseg.TypeCounterSimple,
		"/interfaces/local0/drops":               statseg.TypeSymlink,
		"/interfaces/GigabitEthernet0_8_0/rx":    statseg.TypeSymlink,
		"/interfaces/loop0/tx-broadcast":         statseg.TypeSymlink,
		"/buffer-pools/default-numa-0/available": statseg.TypeGauge,
		"/buffer-pools/default-numa-0/cached":    statseg.TypeGauge,
		"/err/ip6-pop-hop-by-hop/Pkts w/ removed ip6 hop-by-hop options": statseg.TypeSymlink,
	} {
		if e, _ := get(t, snap, name); e.Type != want {
			t.Errorf("%s: %v, want %v", name, e.Type, want)
		}
	}
	for name, rows := range map[string]int{
		"/if/rx": 3, "/if/drops": 3, "/node/errors": 3, "/sys/node/calls": 4,
		"/mem/main heap": 1, "/sys/loops_per_worker": 1,
	} {
		if e, _ := get(t, snap, name); e.Threads() != rows {
			t.Errorf("%s: %d thread rows, want %d", name, e.Threads(), rows)
		}
	}
	if e, _ := get(t, snap, "/if/names"); strings.Join(e.Names, ",") != "local0,GigabitEthernet0/8/0,tap0,loop0" {
		t.Errorf("/if/names %q", e.Names)
	}
	if e, _ := get(t, snap, "/sys/node/names"); len(e.Names) != 10 || e.Names[0] != "null-node" {
		t.Errorf("/sys/node/names %q", e.Names)
	}
	if _, v := get(t, snap, "/sys/num_worker_threads"); v.Scalar != 2 {
		t.Errorf("num_worker_threads %d", v.Scalar)
	}
	if _, v := get(t, snap, "/sys/boottime"); v.Scalar < 1_700_000_000 {
		t.Errorf("boottime %d", v.Scalar)
	}
	_, mem := get(t, snap, "/mem/stat segment")
	_, used := get(t, snap, "/mem/stat segment/used")
	if m := mem.Simple[0]; m[0] != 4<<20 || m[1]+m[2] != m[0] || used.Simple[0][0] != m[1] {
		t.Errorf("/mem/stat segment %v, used %v", m, used.Simple)
	}
	if _, v := get(t, snap, "/sys/heartbeat"); v.Scalar != 1 {
		t.Errorf("heartbeat %d after the first collector pass", v.Scalar)
	}
}

func sum(rows [][]statseg.Combined, i int) (c statseg.Combined) {
	for _, r := range rows {
		c.Packets += r[i].Packets
		c.Bytes += r[i].Bytes
	}
	return c
}

func sumSimple(rows [][]uint64, i int) (n uint64) {
	for _, r := range rows {
		n += r[i]
	}
	return n
}

func TestTrafficIsConsistent(t *testing.T) {
	s := newSim(t, Options{Interfaces: 4, Threads: 2, Rate: 10_000})
	s.Advance(1500 * time.Millisecond)
	snap := snapshot(t, s)
	_, rx := get(t, snap, "/if/rx")
	_, uc := get(t, snap, "/if/rx-unicast")
	_, mc := get(t, snap, "/if/rx-multicast")
	_, bc := get(t, snap, "/if/rx-broadcast")
	_, tx := get(t, snap, "/if/tx")
	_, drops := get(t, snap, "/if/drops")
	_, ip4 := get(t, snap, "/if/ip4")
	_, ip6 := get(t, snap, "/if/ip6")
	for i, name := range s.Interfaces() {
		r := sum(rx.Combined, i)
		if i == 0 {
			if r.Packets != 0 {
				t.Errorf("local0 received %d packets", r.Packets)
			}
			continue
		}
		if r.Packets != 15_000 {
			t.Errorf("%s: rx %d packets, want 15000", name, r.Packets)
		}
		u, m, b := sum(uc.Combined, i), sum(mc.Combined, i), sum(bc.Combined, i)
		if u.Packets+m.Packets+b.Packets != r.Packets || u.Bytes+m.Bytes+b.Bytes != r.Bytes {
			t.Errorf("%s: unicast+multicast+broadcast != rx", name)
		}
		if r.Bytes%r.Packets != 0 || r.Bytes/r.Packets < 64 {
			t.Errorf("%s: %d bytes for %d packets", name, r.Bytes, r.Packets)
		}
		if sum(tx.Combined, i).Packets+sumSimple(drops.Simple, i) != r.Packets {
			t.Errorf("%s: tx + drops != rx", name)
		}
		if sumSimple(ip4.Simple, i)+sumSimple(ip6.Simple, i) != u.Packets {
			t.Errorf("%s: ip4 + ip6 != unicast", name)
		}
		_, link := get(t, snap, "/interfaces/"+symlinkName(name)+"/rx")
		if sum(link.Combined, 0) != r {
			t.Errorf("%s: symlink reads %v, vector %v", name, sum(link.Combined, 0), r)
		}
		// Traffic is on the workers, never on main.
		if rx.Combined[0][i].Packets != 0 {
			t.Errorf("%s: traffic on the main thread", name)
		}
	}

	// The collector turns it into rates and node counters.
	s.Collect()
	snap = snapshot(t, s)
	if _, v := get(t, snap, "/sys/input_rate"); v.Scalar != 4*15_000/10 {
		t.Errorf("input_rate %d", v.Scalar)
	}
	_, vectors := get(t, snap, "/sys/node/vectors")
	var total uint64
	for _, row := range vectors.Simple {
		for _, v := range row {
			total += v
		}
	}
	if total == 0 {
		t.Error("no node vectors after traffic")
	}
	if last := vectors.Simple[len(vectors.Simple)-1]; sumSimple([][]uint64{last}, 0) != 0 {
		t.Error("the extra node thread row must stay zero")
	}
}

func TestChurnAndClear(t *testing.T) {
	s := newSim(t, Options{Interfaces: 3, Threads: 1})
	s.Advance(time.Second)
	epoch := s.Writer().Epoch()
	if err := s.DeleteInterface(2); err != nil {
		t.Fatal(err)
	}
	if s.Writer().Epoch() == epoch {
		t.Error("deleting an interface did not bump the epoch")
	}
	snap := snapshot(t, s)
	if e, _ := get(t, snap, "/if/names"); e.Names[2] != "deleted" {
		t.Errorf("/if/names %q", e.Names)
	}
	if has(snap, "/interfaces/tap0/rx") {
		t.Error("symlinks of a deleted interface remain")
	}
	if err := s.DeleteInterface(2); err == nil {
		t.Error("deleted twice")
	}
	if err := s.DeleteInterface(0); err == nil {
		t.Error("deleted local0")
	}

	// A new interface reuses index 2 with zeroed counters.
	idx, err := s.AddInterface("tap7")
	if err != nil || idx != 2 {
		t.Fatalf("AddInterface = %d, %v", idx, err)
	}
	snap = snapshot(t, s)
	if _, v := get(t, snap, "/interfaces/tap7/rx"); sum(v.Combined, 0).Packets != 0 {
		t.Error("reused index kept old counters")
	}
	if e, _ := get(t, snap, "/interfaces/tap7/rx"); e.Column != 2 {
		t.Errorf("tap7 symlink column %d", e.Column)
	}

	// Churn keeps the count around Interfaces, growing vectors on demand.
	for range 20 {
		if err := s.Churn(); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, name := range s.Interfaces()[1:] {
		if name != "" {
			n++
		}
	}
	if n < 2 || n > 3 {
		t.Errorf("%d interfaces after churn", n)
	}

	// clear interfaces: zero in place, no directory change, nodes untouched.
	s.Advance(time.Second)
	s.Collect()
	epoch = s.Writer().Epoch()
	before := snapshot(t, s)
	s.Clear()
	after := snapshot(t, s)
	if s.Writer().Epoch() != epoch {
		t.Error("Clear changed the directory")
	}
	_, rx := get(t, after, "/if/rx")
	for _, row := range rx.Combined {
		for _, c := range row {
			if c != (statseg.Combined{}) {
				t.Fatalf("rx after clear: %v", rx.Combined)
			}
		}
	}
	_, n1 := get(t, before, "/sys/node/calls")
	_, n2 := get(t, after, "/sys/node/calls")
	if sumSimple(n1.Simple, 16) != sumSimple(n2.Simple, 16) || sumSimple(n1.Simple, 16) == 0 {
		t.Error("clear interfaces touched node counters")
	}
	s.ClearRuntime()
	_, n3 := get(t, snapshot(t, s), "/sys/node/calls")
	if sumSimple(n3.Simple, 16) != 0 {
		t.Error("ClearRuntime left node counters")
	}
}

// TestRunServed runs the simulation with short periods while a client reads
// it over a real stats socket.
func TestRunServed(t *testing.T) {
	s := newSim(t, Options{Interfaces: 4, Threads: 2, Churn: 20 * time.Millisecond,
		UpdateInterval: 50 * time.Millisecond, Rate: 50_000})
	path := filepath.Join(t.TempDir(), "stats.sock")
	srv, err := segwriter.NewServer(path, s.Writer().Fd())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	r, err := statseg.Connect(path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var snap statseg.Snapshot
	var beats []uint64
	deadline := time.Now().Add(600 * time.Millisecond)
	for time.Now().Before(deadline) {
		if err := r.Snapshot(&snap, nil); err != nil {
			t.Fatal(err)
		}
		if len(snap.Errs) != 0 {
			t.Fatalf("unreadable entries: %v", snap.Errs)
		}
		_, v := get(t, &snap, "/sys/heartbeat")
		beats = append(beats, v.Scalar)
		time.Sleep(10 * time.Millisecond)
	}
	if beats[len(beats)-1] < beats[0]+5 {
		t.Errorf("heartbeat went from %d to %d in 600ms at a 50ms interval", beats[0], beats[len(beats)-1])
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, o := range []Options{{Threads: -1}, {Rate: -1}, {Churn: -time.Second}, {Nodes: -3}} {
		if _, err := New(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := New(Options{Interfaces: 5000, SegmentSize: segwriter.MinWriterSize}); err == nil {
		t.Error("5000 interfaces fit in 64 KiB?")
	}
}
