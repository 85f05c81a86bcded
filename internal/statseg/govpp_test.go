package statseg

import (
	"fmt"
	"testing"

	"go.fd.io/govpp/adapter"
	"go.fd.io/govpp/adapter/statsclient"

	"github.com/vppstats/vppstats/internal/segwriter"
)

// TestGovppReadsWriterSegment checks that a third-party reader, govpp's
// statsclient (v0.14.0-alpha), accepts the segments we write and serve: the
// layout and the socket exchange are VPP's, not merely ours.
func TestGovppReadsWriterSegment(t *testing.T) {
	w := newTestWriter(t, segwriter.WriterOptions{Size: 1 << 20, Threads: 2})
	must[segwriter.Scalar](t)(w.AddScalar("/sys/boottime")).Set(1_700_000_000)
	drops := must[segwriter.SimpleCounter](t)(w.AddSimpleCounter("/if/drops", 3))
	rx := must[segwriter.CombinedCounter](t)(w.AddCombinedCounter("/if/rx", 3))
	must[segwriter.NameVector](t)(w.AddNameVector("/if/names", []string{"local0", "loop0", "tap1"}))
	must[*segwriter.Handle](t)(w.AddSymlink("/interfaces/loop0/rx", rx.Index(), 1))
	must[*segwriter.Handle](t)(w.AddSymlink("/interfaces/tap1/drops", drops.Index(), 2))
	// A type govpp does not know must not break it.
	must[segwriter.Scalar](t)(w.AddGauge("/sys/vector_rate")).Set(7)
	drops.Add(0, 2, 3)
	drops.Add(1, 2, 4)
	rx.Add(1, 1, 10, 640)

	path := socketPath(t)
	newTestServer(t, path, w.Fd())

	sc := statsclient.NewStatsClient(path)
	if err := sc.Connect(); err != nil {
		t.Fatal(err)
	}
	defer sc.Disconnect()

	ids, err := sc.ListStats()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, id := range ids {
		names = append(names, string(id.Name))
	}
	want := "[/sys/boottime /if/drops /if/rx /if/names /interfaces/loop0/rx /interfaces/tap1/drops /sys/vector_rate]"
	if fmt.Sprint(names) != want {
		t.Errorf("ListStats = %v", names)
	}

	entries, err := sc.DumpStats()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		got[string(e.Name)] = fmt.Sprintf("%v %v", e.Type, e.Data)
	}
	for name, want := range map[string]string{
		"/sys/boottime":          fmt.Sprintf("%v %v", adapter.ScalarIndex, adapter.ScalarStat(1_700_000_000)),
		"/if/drops":              "SimpleCounterVector [[0 0 3] [0 0 4]]",
		"/if/rx":                 "CombinedCounterVector [[[0 0] [0 0] [0 0]] [[0 0] [10 640] [0 0]]]",
		"/if/names":              "NameVector [local0 loop0 tap1]",
		"/interfaces/loop0/rx":   "CombinedCounterVector [[[0 0]] [[10 640]]]",
		"/interfaces/tap1/drops": "SimpleCounterVector [[3] [4]]",
	} {
		if got[name] != want {
			t.Errorf("%s: govpp reads %q, want %q", name, got[name], want)
		}
	}
}
