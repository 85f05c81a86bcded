package main

import (
	"bufio"
	"bytes"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/testutil"
)

func lines(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	sort.Strings(out)
	return out
}

// vppDump returns the lines of VPP's own dump of seg, sorted.
func vppDump(t *testing.T, seg string) []string {
	t.Helper()
	out := testutil.ReadDump(t, testutil.DumpPath(seg)).Lines()
	sort.Strings(out)
	return out
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d lines, VPP printed %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("first difference (sorted lines): %q, VPP printed %q", got[i], want[i])
		}
	}
}

// TestDumpSegmentMatchesVPP runs `vppstat dump --segment FILE` on every
// capture and compares its lines with VPP's own dump of that segment.
func TestDumpSegmentMatchesVPP(t *testing.T) {
	segs, _ := filepath.Glob("../../testdata/vpp/*/*.seg.gz")
	if len(segs) == 0 {
		t.Fatal("no captures")
	}
	for _, seg := range segs {
		t.Run(strings.TrimPrefix(seg, "../../testdata/vpp/"), func(t *testing.T) {
			var out bytes.Buffer
			if err := runDump([]string{"--segment", seg}, &out); err != nil {
				t.Fatal(err)
			}
			sameLines(t, lines(t, out.Bytes()), vppDump(t, seg))
		})
	}
}

// TestCaptureOverSocket serves a capture as VPP would, captures it back
// with `vppstat capture`, and dumps the result through the socket and the
// file: all three agree with VPP's dump.
func TestCaptureOverSocket(t *testing.T) {
	seg := "../../testdata/vpp/v25.10/b.seg.gz"
	dir := t.TempDir()
	sock := filepath.Join(dir, "stats.sock")
	srv, err := segwriter.ServeFile(sock, seg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	var viaSocket bytes.Buffer
	if err := runDump([]string{"--socket", sock}, &viaSocket); err != nil {
		t.Fatal(err)
	}
	want := vppDump(t, seg)
	sameLines(t, lines(t, viaSocket.Bytes()), want)

	out := filepath.Join(dir, "copy.seg.gz")
	if err := runCapture([]string{"--socket", sock, "-o", out}); err != nil {
		t.Fatal(err)
	}
	var viaFile bytes.Buffer
	if err := runDump([]string{"--segment", out}, &viaFile); err != nil {
		t.Fatal(err)
	}
	sameLines(t, lines(t, viaFile.Bytes()), want)
}

func TestListPatterns(t *testing.T) {
	var out bytes.Buffer
	err := runList([]string{"--segment", "../../testdata/vpp/v26.06/a.seg.gz", "^/if/names$", "^/sys/b"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "/sys/boottime\n/if/names\n" {
		t.Errorf("ls = %q", got)
	}
	if err := runList([]string{"--segment", "x", "("}, &out); err == nil || !strings.Contains(err.Error(), `pattern "("`) {
		t.Errorf("bad pattern: %v", err)
	}
	if err := runDump([]string{"--socket", "/run/vpp/stats.sock", "--segment", "x.seg"}, &out); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("--socket and --segment: %v", err)
	}
	if err := runDump([]string{"--socket", filepath.Join(t.TempDir(), "none.sock")}, &out); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing socket: %v", err)
	}
}
