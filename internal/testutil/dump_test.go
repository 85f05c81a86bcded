package testutil

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeGz(t *testing.T, text string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(text))
	zw.Close()
	p := filepath.Join(t.TempDir(), "x.dump.txt.gz")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseDump(t *testing.T) {
	text := "[0 @ 1]: 7 packets, 448 bytes /if/rx\n" +
		"[0 @ 0]: 2 packets, 128 bytes /if/rx\n" +
		"[3 @ 1]: 5 packets /if/drops\n" +
		"[1]: loop0 /if/names\n" +
		"1795476708.00 /sys/boottime\n"
	d := ReadDump(t, writeGz(t, text))
	if d.Text != text || len(d.Lines()) != 5 {
		t.Errorf("text %q, %d lines", d.Text, len(d.Lines()))
	}
	if pk, by, ok := d.SumThreads("/if/rx", 0); pk != 9 || by != 576 || !ok {
		t.Errorf("/if/rx[0] = %d packets %d bytes (%v), want 9, 576", pk, by, ok)
	}
	if got := d.SumSimple("/if/drops")[3]; got != 5 {
		t.Errorf("/if/drops[3] = %d", got)
	}
	if d.Names["/if/names"][1] != "loop0" || d.Scalars["/sys/boottime"] != 1795476708 {
		t.Errorf("names %v, scalars %v", d.Names, d.Scalars)
	}
	if _, err := ParseDump(writeGz(t, text+"garbage /x\n")); err == nil || !strings.Contains(err.Error(), "line 6") {
		t.Errorf("an unknown line: %v, want an error naming line 6", err)
	}
}

// TestParseCaptureDumps: every dump of the captures parses.
func TestParseCaptureDumps(t *testing.T) {
	segs, _ := filepath.Glob("../../testdata/vpp/*/*.seg.gz")
	if len(segs) == 0 {
		t.Fatal("no captures in testdata/vpp")
	}
	for _, seg := range segs {
		d := ReadDump(t, DumpPath(seg))
		if len(d.Combined["/if/rx"]) == 0 || len(d.Names["/if/names"]) == 0 {
			t.Errorf("%s: no /if/rx or /if/names", seg)
		}
	}
}
