package statsfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/internal/testutil"
)

// requireFUSE skips the test where FUSE cannot be mounted, except in CI
// (CI=true), where a missing FUSE is a failure of the test environment.
func requireFUSE(t testing.TB) {
	t.Helper()
	why := Unavailable()
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("FUSE is unavailable: %s", why)
	}
	t.Skipf("FUSE is unavailable: %s (set CI=true to make this a failure)", why)
}

// testLogger sends the filesystem's log lines to the test log.
type testLogger struct{ t testing.TB }

func (w testLogger) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// mountTest mounts the stats of open on a fresh directory, and on cleanup
// unmounts it and checks that nothing is left behind.
func mountTest(t testing.TB, source string, open Opener) string {
	t.Helper()
	requireFUSE(t)
	mnt := t.TempDir()
	srv, err := Mount(mnt, Config{
		Open:    open,
		Source:  source,
		Timeout: 100 * time.Millisecond,
		Logger:  log.New(testLogger{t}, "statsfs: ", 0),
	})
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() {
		var err error
		for range 50 { // a test's last open file may still be closing
			if err = srv.Unmount(); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("unmount: %v", err)
			return
		}
		srv.Wait()
		checkUnmounted(t, mnt)
	})
	return mnt
}

// checkUnmounted checks that mnt is no mount point and is empty.
func checkUnmounted(t testing.TB, mnt string) {
	t.Helper()
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == mnt {
			t.Errorf("%s still mounted: %s", mnt, line)
		}
	}
	if ents, err := os.ReadDir(mnt); err != nil || len(ents) != 0 {
		t.Errorf("mount point after unmount: %d entries, %v", len(ents), err)
	}
}

func socketOpener(path string) Opener {
	return func() (*statseg.Reader, error) { return statseg.Connect(path, time.Second) }
}

// walk returns the content of every file under mnt by stat name, and the
// stat names whose file cannot be read (with the error).
func walk(t *testing.T, mnt string) (files map[string][]byte, failed map[string]error) {
	t.Helper()
	files, failed = map[string][]byte{}, map[string]error{}
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			t.Errorf("%s: mode %v, want a regular file", p, d.Type())
			return nil
		}
		rel, _ := filepath.Rel(mnt, p)
		name := StatName(rel)
		if _, dup := files[name]; dup {
			t.Errorf("stat %q shown twice", name)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			failed[name] = err
			return nil
		}
		files[name] = data
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", mnt, err)
	}
	return files, failed
}

// snapshotOf reads every stat of the segment r serves.
func snapshotOf(t *testing.T, r *statseg.Reader) *statseg.Snapshot {
	t.Helper()
	var s statseg.Snapshot
	if err := r.Snapshot(&s, statseg.All); err != nil {
		t.Fatal(err)
	}
	return &s
}

// checkTree checks that the mounted tree shows exactly the stats of s, and
// that the files, turned back into `vpp_get_stats dump` lines, give what
// WriteDump prints for s, byte for byte. It returns those lines.
func checkTree(t *testing.T, mnt string, s *statseg.Snapshot) string {
	t.Helper()
	files, failed := walk(t, mnt)
	var got bytes.Buffer
	shown := 0
	for i := range s.Dir.Entries {
		e := &s.Dir.Entries[i]
		if e.Type == statseg.TypeEmpty {
			continue
		}
		shown++
		data, ok := files[e.Name]
		if err := failed[e.Name]; err != nil || e.Err != nil {
			if e.Err == nil || !errors.Is(err, syscall.EIO) {
				t.Errorf("%s: read error %v, entry error %v", e.Name, err, e.Err)
			}
			continue
		}
		if !ok {
			t.Errorf("stat %q not shown", e.Name)
			continue
		}
		if err := toDump(&got, e, data); err != nil {
			t.Errorf("%s: %v\n%s", e.Name, err, data)
		}
	}
	if len(files)+len(failed) != shown {
		t.Errorf("tree shows %d files, directory has %d stats", len(files)+len(failed), shown)
	}
	var want bytes.Buffer
	if err := statseg.WriteDump(&want, s); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("files differ from WriteDump: %s", firstDiff(got.String(), want.String()))
	}
	return got.String()
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(g), len(w))
}

// toDump turns a file of stat e back into the lines vpp_get_stats prints
// for it, checking the format on the way (headers, totals).
func toDump(w io.Writer, e *statseg.Entry, data []byte) error {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if !strings.HasSuffix(string(data), "\n") {
		return errors.New("no final newline")
	}
	switch {
	case e.DataType == statseg.TypeScalar || e.DataType == statseg.TypeGauge:
		if len(lines) != 1 {
			return errors.New("scalar: want one line")
		}
		v, err := strconv.ParseUint(lines[0], 10, 64)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s %s\n", strconv.FormatFloat(float64(v), 'f', 2, 64), e.Name)
	case e.DataType == statseg.TypeNameVector:
		if lines[0] != "# index name" {
			return fmt.Errorf("header %q", lines[0])
		}
		for _, l := range lines[1:] {
			k, name, _ := strings.Cut(l, " ")
			fmt.Fprintf(w, "[%s]: %s %s\n", k, Unescape(name), e.Name)
		}
	case e.Type == statseg.TypeSymlink:
		return columnToDump(w, e, lines)
	case e.DataType == statseg.TypeCounterSimple || e.DataType == statseg.TypeCounterCombined:
		return vectorToDump(w, e, lines)
	default:
		return fmt.Errorf("no captured stat is a %s", e.DataType)
	}
	return nil
}

// columnToDump converts "thread value..." lines and checks the total line.
func columnToDump(w io.Writer, e *statseg.Entry, lines []string) error {
	per := 1
	want := "# thread value"
	if e.DataType == statseg.TypeCounterCombined {
		per, want = 2, "# thread packets bytes"
	}
	if lines[0] != want {
		return fmt.Errorf("header %q", lines[0])
	}
	total := make([]uint64, per)
	for i, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 1+per {
			return fmt.Errorf("line %q", l)
		}
		vals, err := parseUints(f[1:])
		if err != nil {
			return err
		}
		if f[0] == "total" {
			if i != len(lines)-2 || fmt.Sprint(vals) != fmt.Sprint(total) {
				return fmt.Errorf("total line %q, sum %v", l, total)
			}
			return nil
		}
		for j, v := range vals {
			total[j] += v
		}
		writeCell(w, e, "0", f[0], vals)
	}
	return errors.New("no total line")
}

// vectorToDump converts "index thread... total name" lines, in the order
// vpp_get_stats prints cells: thread by thread, then index by index.
func vectorToDump(w io.Writer, e *statseg.Entry, lines []string) error {
	per, suffixes := 1, []string{""}
	if e.DataType == statseg.TypeCounterCombined {
		per, suffixes = 2, []string{".packets", ".bytes"}
	}
	head := strings.Fields(lines[0])
	threads := 0
	for strings.HasPrefix(head[2+threads*per], "thread") {
		for j, s := range suffixes {
			if head[2+threads*per+j] != "thread"+strconv.Itoa(threads)+s {
				return fmt.Errorf("header %q", lines[0])
			}
		}
		threads++
	}
	type cell struct {
		k    string
		vals []uint64
	}
	byThread := make([][]cell, threads)
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 1+(threads+1)*per {
			return fmt.Errorf("line %q", l)
		}
		total := make([]uint64, per)
		for t := range threads {
			raw := f[1+t*per : 1+(t+1)*per]
			if raw[0] == "-" {
				continue
			}
			vals, err := parseUints(raw)
			if err != nil {
				return err
			}
			for j, v := range vals {
				total[j] += v
			}
			byThread[t] = append(byThread[t], cell{f[0], vals})
		}
		if got := strings.Join(f[1+threads*per:1+(threads+1)*per], " "); got != strings.Trim(fmt.Sprint(total), "[]") {
			return fmt.Errorf("line %q: total %s, sum %v", l, got, total)
		}
	}
	for t, cells := range byThread {
		for _, c := range cells {
			writeCell(w, e, c.k, strconv.Itoa(t), c.vals)
		}
	}
	return nil
}

func writeCell(w io.Writer, e *statseg.Entry, k, thread string, vals []uint64) {
	if len(vals) == 2 {
		fmt.Fprintf(w, "[%s @ %s]: %d packets, %d bytes %s\n", k, thread, vals[0], vals[1], e.Name)
		return
	}
	fmt.Fprintf(w, "[%s @ %s]: %d packets %s\n", k, thread, vals[0], e.Name)
}

func parseUints(fields []string) ([]uint64, error) {
	out := make([]uint64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

var captures = []string{"v25.10/a", "v25.10/b", "v25.10/c-cleared", "v26.06/a", "v26.06/b", "v26.06/c-cleared"}

const capturesDir = "../../testdata/vpp/"

// A capture served on a stats socket, mounted: every file agrees with the
// reader, and with VPP's own dump of that segment, exactly.
func TestMountCaptures(t *testing.T) {
	for _, c := range captures {
		t.Run(c, func(t *testing.T) {
			seg := capturesDir + c + ".seg.gz"
			sock := filepath.Join(t.TempDir(), "stats.sock")
			srv, err := segwriter.ServeFile(sock, seg)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			mnt := mountTest(t, sock, socketOpener(sock))
			r, err := statseg.Connect(sock, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got := checkTree(t, mnt, snapshotOf(t, r))
			if oracle := testutil.ReadDump(t, capturesDir+c+".dump.txt.gz").Text; got != oracle {
				t.Errorf("files differ from VPP's dump: %s", firstDiff(got, oracle))
			}
		})
	}
}

// The same over a segment file (--segment).
func TestMountSegmentFile(t *testing.T) {
	seg := capturesDir + "v26.06/a.seg.gz"
	mnt := mountTest(t, seg, func() (*statseg.Reader, error) { return statseg.OpenFile(seg) })
	r, err := statseg.OpenFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	checkTree(t, mnt, snapshotOf(t, r))

	// Spot checks of the layout the docs promise.
	for path, want := range map[string]string{
		"sys/boottime":                          "1795476708\n",
		"interfaces/loop1/drops":                "# thread value\n0 0\n1 165791\ntotal 165791\n",
		"err/llc-input/unknown llc ssap%2Fdsap": "# thread value\n0 0\n1 0\ntotal 0\n",
	} {
		data, err := os.ReadFile(filepath.Join(mnt, path))
		if err != nil || string(data) != want {
			t.Errorf("%s: %q, %v; want %q", path, data, err, want)
		}
	}
	data, err := os.ReadFile(filepath.Join(mnt, "mem/stat segment/.value"))
	if err != nil || !strings.HasPrefix(string(data), "# index thread0 total name\n0 16773120 16773120 total\n1 947136 947136 used\n") {
		t.Errorf("/mem/stat segment/.value: %q, %v", data, err)
	}
	data, err = os.ReadFile(filepath.Join(mnt, "if/rx"))
	if err != nil || !strings.Contains(string(data), "\n1 0 0 ") || !strings.HasSuffix(string(data), " deleted\n") {
		t.Errorf("/if/rx: %q, %v", data, err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "sys/boottime"), []byte("1"), 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("writing a stat: %v, want EROFS", err)
	}
	if err := os.Mkdir(filepath.Join(mnt, "x"), 0o755); !errors.Is(err, syscall.EROFS) {
		t.Errorf("mkdir: %v, want EROFS", err)
	}
}

// linesOf returns the non-header lines of a file.
func linesOf(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "#") {
			out = append(out, sc.Text())
		}
	}
	return out
}
