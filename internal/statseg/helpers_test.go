package statseg

import (
	"bytes"
	"testing"
)

// snapshotAll reads every entry of r.
func snapshotAll(t testing.TB, r *Reader) *Snapshot {
	t.Helper()
	var s Snapshot
	if err := r.Snapshot(&s, nil); err != nil {
		t.Fatal(err)
	}
	return &s
}

// dumpOf prints s as vpp_get_stats dump does.
func dumpOf(t testing.TB, s *Snapshot) string {
	t.Helper()
	var out bytes.Buffer
	if err := WriteDump(&out, s); err != nil {
		t.Fatal(err)
	}
	return out.String()
}
