package statseg

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/vppstats/vppstats/internal/segwriter"
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

// newTestWriter is a writer closed when the test ends.
func newTestWriter(t *testing.T, opts segwriter.WriterOptions) *segwriter.Writer {
	t.Helper()
	w, err := segwriter.NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// must unwraps a writer call's result, failing the test on its error.
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func socketPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "stats.sock")
}

// newTestServer serves fd on path until the test ends.
func newTestServer(t *testing.T, path string, fd int) *segwriter.Server {
	t.Helper()
	s, err := segwriter.NewServer(path, fd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
