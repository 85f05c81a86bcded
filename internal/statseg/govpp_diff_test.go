package statseg

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.fd.io/govpp/adapter"
	"go.fd.io/govpp/adapter/statsclient"

	"github.com/vppstats/vppstats/internal/segwriter"
)

// TestGovppAgreesOnCaptures serves the real captures the way VPP does and
// reads them with govpp v0.14.0-alpha and with our reader: for every entry
// govpp decodes, the values must be equal. govpp is an independent reader of
// the same format; where it cannot decode (v26.02+ gauges) it is left out.
func TestGovppAgreesOnCaptures(t *testing.T) {
	for _, seg := range captures(t) {
		name := strings.TrimPrefix(seg, "../../testdata/vpp/")
		t.Run(name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "stats.sock")
			srv, err := segwriter.ServeFile(sock, seg)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()

			r, err := Connect(sock, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			s := snapshotAll(t, r)

			sc := statsclient.NewStatsClient(sock)
			if err := sc.Connect(); err != nil {
				t.Fatal(err)
			}
			defer sc.Disconnect()
			// With a pattern govpp scans the whole directory; without one
			// it stops at the first empty slot (a govpp bug we avoid).
			entries, err := sc.DumpStats("/")
			if err != nil {
				t.Fatal(err)
			}
			compared := 0
			for _, ge := range entries {
				e, ok := s.Dir.Lookup(string(ge.Name))
				if !ok {
					t.Errorf("govpp lists %q, we do not", ge.Name)
					continue
				}
				v := &s.Values[e.Index]
				var ours any
				switch d := ge.Data.(type) {
				case adapter.ScalarStat:
					ours = adapter.ScalarStat(float64(v.Scalar))
				case adapter.SimpleCounterStat:
					ours = toGovppSimple(v.Simple)
				case adapter.CombinedCounterStat:
					ours = toGovppCombined(v.Combined)
				case adapter.NameStat:
					ours = toGovppNames(e)
				case nil:
					continue // a type govpp does not decode
				default:
					t.Errorf("%s: govpp type %T not compared", ge.Name, d)
					continue
				}
				if !equalStat(ge.Data, ours) {
					t.Errorf("%s: govpp %v, we %v", ge.Name, ge.Data, ours)
				}
				compared++
			}
			if compared < len(s.Wanted)*9/10 {
				t.Errorf("compared only %d of %d entries", compared, len(s.Wanted))
			}
			t.Logf("%d entries equal to govpp's", compared)
		})
	}
}

func toGovppSimple(rows [][]uint64) adapter.SimpleCounterStat {
	out := make(adapter.SimpleCounterStat, len(rows))
	for t, row := range rows {
		out[t] = make([]adapter.Counter, len(row))
		for i, c := range row {
			out[t][i] = adapter.Counter(c)
		}
	}
	return out
}

func toGovppCombined(rows [][]Combined) adapter.CombinedCounterStat {
	out := make(adapter.CombinedCounterStat, len(rows))
	for t, row := range rows {
		out[t] = make([]adapter.CombinedCounter, len(row))
		for i, c := range row {
			out[t][i] = adapter.CombinedCounter{c.Packets, c.Bytes}
		}
	}
	return out
}

func toGovppNames(e *Entry) adapter.NameStat {
	out := make(adapter.NameStat, len(e.Names))
	for i, n := range e.Names {
		if e.NullNames == nil || !e.NullNames[i] {
			out[i] = adapter.Name(n)
		}
	}
	return out
}

// equalStat compares govpp's value with ours, treating empty and nil rows
// and names alike (govpp returns nil where we return empty).
func equalStat(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	norm := func(v any) any {
		switch v := v.(type) {
		case adapter.SimpleCounterStat:
			for i := range v {
				if len(v[i]) == 0 {
					v[i] = nil
				}
			}
		case adapter.CombinedCounterStat:
			for i := range v {
				if len(v[i]) == 0 {
					v[i] = nil
				}
			}
		case adapter.NameStat:
			for i := range v {
				v[i] = []byte(strings.TrimRight(string(v[i]), "\x00"))
				if len(v[i]) == 0 {
					v[i] = nil
				}
			}
		}
		return v
	}
	return reflect.DeepEqual(norm(a), norm(b))
}
