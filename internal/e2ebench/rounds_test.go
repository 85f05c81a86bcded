package main

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestSummarize: a job's row is its median round, its ratios are taken
// against the C exporter of the same round, and a failure in any round is
// what the row shows.
func TestSummarize(t *testing.T) {
	c, recv, sink := jobs[0].name, "receiver alone -> debug", "otlp sink"
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	in := []result{
		{input: "a", job: c, round: 0, cpu: ms(50)},
		{input: "a", job: recv, round: 0, cpu: ms(10)},
		{input: "a", job: sink, round: 0, cpu: ms(20)},
		{input: "a", job: c, round: 1, cpu: ms(100)}, // a slow round: everything doubled
		{input: "a", job: recv, round: 1, cpu: ms(40)},
		{input: "a", job: sink, round: 1, err: errors.New("refused")},
		{input: "a", job: c, round: 2, cpu: ms(60)},
		{input: "a", job: recv, round: 2, cpu: ms(15)},
		{input: "a", job: sink, round: 2, cpu: ms(21)},
	}
	out := summarize(in)
	if len(out) != 3 {
		t.Fatalf("%d rows, want one per job: %+v", len(out), out)
	}
	if out[0].job != c || out[0].cpu != ms(60) || !reflect.DeepEqual(out[0].ratios, []float64{1, 1, 1}) {
		t.Errorf("C exporter row %+v: want the 60 ms round and ratios 1", out[0])
	}
	r := out[1]
	if r.job != recv || r.cpu != ms(15) || r.round != 2 {
		t.Errorf("receiver row %+v: want its median round (15 ms, round 3)", r)
	}
	if want := []float64{0.2, 0.25, 0.4}; !reflect.DeepEqual(r.ratios, want) {
		t.Errorf("receiver ratios %v, want %v (each against its own round's C exporter)", r.ratios, want)
	}
	if x, _ := r.ratio(); x != 0.25 {
		t.Errorf("receiver ratio %v, want the median 0.25", x)
	}
	if out[2].err == nil {
		t.Errorf("sink row %+v: a round failed, the row must say so", out[2])
	}
}
