package statsfs

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/internal/vppsim"
)

// eventually polls cond until it holds, for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func listDir(t *testing.T, p string) []string {
	t.Helper()
	ents, err := os.ReadDir(p)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// serveSim starts a simulated VPP on a stats socket.
func serveSim(t *testing.T, opts vppsim.Options) (*vppsim.Sim, string) {
	t.Helper()
	sim, err := vppsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	sock := filepath.Join(t.TempDir(), "stats.sock")
	srv, err := segwriter.NewServer(sock, sim.Writer().Fd())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return sim, sock
}

// Over the simulator: the files agree with the reader; interfaces added and
// deleted appear and disappear without remounting; an open file never
// shows another stat's values.
func TestMountSimulator(t *testing.T) {
	sim, sock := serveSim(t, vppsim.Options{Interfaces: 3, Threads: 2})
	sim.Advance(time.Second)
	mnt := mountTest(t, sock, socketOpener(sock))
	r, err := statseg.Connect(sock, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	checkTree(t, mnt, snapshotOf(t, r)) // the sim stands still between steps

	idx, err := sim.AddInterface("loop42")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "/interfaces/loop42", func() bool { return exists(filepath.Join(mnt, "interfaces/loop42/rx")) })
	if !slices.Contains(listDir(t, filepath.Join(mnt, "interfaces")), "loop42") {
		t.Errorf("loop42 found by lookup but not listed")
	}
	sim.Advance(time.Second)
	checkTree(t, mnt, snapshotOf(t, r))

	// An open file re-reads by name from offset 0: current data while the
	// interface exists, EIO once it is gone.
	f, err := os.Open(filepath.Join(mnt, "interfaces/loop42/rx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	first, _ := io.ReadAll(f)
	sim.Advance(time.Second)
	again := reread(t, f)
	if string(first) == string(again) {
		t.Errorf("re-reading an open file from offset 0 gave the old value %q", again)
	}
	link := snapshotOf(t, r)
	e, _ := link.Dir.Lookup("/interfaces/loop42/rx")
	if e == nil || e.Column != idx {
		t.Fatalf("loop42 is not at index %d: %+v", idx, e)
	}
	if want := render(e, &link.Values[e.Index], nil); string(again) != string(want) {
		t.Errorf("open file re-read: %q, reader says %q", again, want)
	}

	if err := sim.DeleteInterface(idx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "/interfaces/loop42 to go", func() bool { return !exists(filepath.Join(mnt, "interfaces/loop42")) })
	if slices.Contains(listDir(t, filepath.Join(mnt, "interfaces")), "loop42") {
		t.Errorf("loop42 still listed")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if data, err := io.ReadAll(f); !errors.Is(err, syscall.EIO) {
		t.Errorf("reading a deleted stat: %q, %v; want EIO", data, err)
	}
	// The index is reused by the next interface: the old name still does
	// not show the new interface's counters.
	idx2, err := sim.AddInterface("loop43")
	if err != nil {
		t.Fatal(err)
	}
	if idx2 != idx {
		t.Logf("index %d not reused (got %d)", idx, idx2)
	}
	eventually(t, "/interfaces/loop43", func() bool { return exists(filepath.Join(mnt, "interfaces/loop43/rx")) })
	if data, err := reread2(f); !errors.Is(err, syscall.EIO) {
		t.Errorf("reading a deleted stat after its index was reused: %q, %v; want EIO", data, err)
	}
	names, err := os.ReadFile(filepath.Join(mnt, "if/names"))
	if err != nil || !strings.Contains(string(names), "loop43\n") {
		t.Errorf("/if/names: %q, %v", names, err)
	}
	checkTree(t, mnt, snapshotOf(t, r))
}

func reread(t *testing.T, f *os.File) []byte {
	t.Helper()
	data, err := reread2(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func reread2(f *os.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// Under live churn (interfaces come and go every 50 ms while traffic runs),
// readers of the tree see interfaces appear and disappear, and every file
// they manage to read is well formed and belongs to its stat.
func TestMountChurn(t *testing.T) {
	sim, sock := serveSim(t, vppsim.Options{Interfaces: 4, Churn: 50 * time.Millisecond, UpdateInterval: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sim.Run(ctx) }()
	defer wg.Wait()
	defer cancel()
	mnt := mountTest(t, sock, socketOpener(sock))

	seen := map[string]int{} // interface -> how many listings showed it
	listings := 0
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		ifs, err := os.ReadDir(filepath.Join(mnt, "interfaces"))
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) {
				continue // VPP kept changing its directory
			}
			t.Fatal(err)
		}
		listings++
		for _, i := range ifs {
			seen[i.Name()]++
			data, err := os.ReadFile(filepath.Join(mnt, "interfaces", i.Name(), "rx"))
			if err != nil {
				if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.EAGAIN) {
					t.Errorf("%s/rx: %v", i.Name(), err)
				}
				continue // deleted since the listing
			}
			lines := linesOf(data)
			if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "total ") {
				t.Errorf("%s/rx: %q", i.Name(), data)
			}
		}
		if _, err := os.ReadFile(filepath.Join(mnt, "if/rx")); err != nil && !errors.Is(err, syscall.EAGAIN) {
			t.Errorf("/if/rx: %v", err)
		}
	}
	come, gone := 0, 0
	for name, n := range seen {
		if n < listings {
			if exists(filepath.Join(mnt, "interfaces", name)) {
				come++
			} else {
				gone++
			}
		}
	}
	t.Logf("%d listings, %d interfaces seen, %d came late, %d gone", listings, len(seen), come, gone)
	if len(seen) <= 5 {
		t.Errorf("churn never showed in the tree: saw only %v", seen)
	}
}

// A VPP restart: the stats socket goes away (reads fail with EIO), then a
// new VPP serves a new segment on the same path, and the same mount shows
// it without being told.
func TestMountRestart(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "stats.sock")
	srv, err := segwriter.ServeFile(sock, capturesDir+"v25.10/a.seg.gz")
	if err != nil {
		t.Fatal(err)
	}
	mnt := mountTest(t, sock, socketOpener(sock))
	boottime := filepath.Join(mnt, "sys/boottime")
	before, err := os.ReadFile(boottime)
	if err != nil {
		t.Fatal(err)
	}

	srv.Close() // VPP stops
	if data, err := os.ReadFile(boottime); !errors.Is(err, syscall.EIO) {
		t.Errorf("reading while VPP is down: %q, %v; want EIO", data, err)
	}
	if _, err := os.ReadDir(filepath.Join(mnt, "if")); !errors.Is(err, syscall.EIO) {
		t.Errorf("listing while VPP is down: %v; want EIO", err)
	}

	srv, err = segwriter.ServeFile(sock, capturesDir+"v26.06/a.seg.gz") // VPP is back
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var after []byte
	eventually(t, "reads to recover", func() bool {
		after, err = os.ReadFile(boottime)
		return err == nil
	})
	if string(after) == string(before) {
		t.Errorf("boottime %q did not change with the restart", after)
	}
	r, err := statseg.OpenFile(capturesDir + "v26.06/a.seg.gz")
	if err != nil {
		t.Fatal(err)
	}
	checkTree(t, mnt, snapshotOf(t, r))
}

// A VPP killed and restarted on the same socket file (same inode, as a
// disk filesystem can give it): the mount follows the new segment instead
// of serving the old one frozen.
func TestMountRestartSameSocketFile(t *testing.T) {
	sim, err := vppsim.New(vppsim.Options{Interfaces: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	sim2, err := vppsim.New(vppsim.Options{Interfaces: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim2.Close() })
	boot2, ok := sim2.Writer().Lookup("/sys/boottime")
	if !ok {
		t.Fatal("the simulator has no /sys/boottime")
	}
	segwriter.Scalar{Handle: boot2}.Set(4242)

	sock := filepath.Join(t.TempDir(), "stats.sock")
	srv, err := segwriter.NewServer(sock, sim.Writer().Fd())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	mnt := mountTest(t, sock, socketOpener(sock))
	boottime := filepath.Join(mnt, "sys/boottime")
	if _, err := os.ReadFile(boottime); err != nil {
		t.Fatal(err)
	}

	if err := srv.SetFd(sim2.Writer().Fd()); err != nil { // same socket file, new VPP
		t.Fatal(err)
	}
	eventually(t, "the new VPP's /sys/boottime", func() bool {
		data, err := os.ReadFile(boottime)
		return err == nil && strings.HasPrefix(string(data), "4242")
	})
}
