package statseg

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vppstats/vppstats/internal/segwriter"
)

// churnLen is the vector length of generation g's entries: the structure a
// consistent snapshot must see under each name.
func churnLen(g int) int { return g%37 + 1 }

// TestReadersSeeConsistentSnapshots lets a writer churn the directory (add
// and delete entries, symlinks and names, grow vectors, hold the lock) and
// workers bump counters, while a reader reads over a real socket and memfd.
// Every successful snapshot must be consistent: the values are designed so
// that any mix of two directory states shows.
func TestReadersSeeConsistentSnapshots(t *testing.T) {
	w, err := segwriter.NewWriter(segwriter.WriterOptions{Size: 4 << 20, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sock := filepath.Join(t.TempDir(), "stats.sock")
	srv, err := segwriter.NewServer(sock, w.Fd())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	live, err := w.AddSimpleCounter("/test/live", 8)
	if err != nil {
		t.Fatal(err)
	}
	grow, err := w.AddSimpleCounter("/test/grow", 1)
	if err != nil {
		t.Fatal(err)
	}
	names, err := w.AddNameVector("/test/names", []string{"gen-0"})
	if err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	// Workers: lock-free increments of /test/live, as VPP's threads do.
	for th := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				live.Add(th, i%8, 1)
			}
		}()
	}
	// Main thread: directory churn. Generation g publishes /churn/g, a
	// vector of churnLen(g) cells holding g, a symlink /churn/g/first to
	// its column 0 (every other one added as vlib_stats_add_symlink does,
	// without the lock or an epoch change), grows /test/grow to g+1 cells
	// (cell i holds i+1), and renames /test/names[0] to gen-g. Generations
	// older than 3 go away.
	var gens atomic.Int64
	var writerErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		handles := map[int][2]*segwriter.Handle{}
		for g := 1; !stop.Load(); g++ {
			v, err := w.AddSimpleCounter(fmt.Sprintf("/churn/%d", g), churnLen(g))
			if err == nil {
				for th := range 2 {
					for i := range churnLen(g) {
						v.Set(th, i, uint64(g))
					}
				}
				var link *segwriter.Handle
				addLink := w.AddSymlink
				if g%2 == 0 {
					addLink = w.AddSymlinkUnlocked
				}
				if link, err = addLink(fmt.Sprintf("/churn/%d/first", g), v.Index(), 0); err == nil {
					handles[g] = [2]*segwriter.Handle{v.Handle, link}
				}
			}
			if err == nil && g%50 < 40 {
				err = grow.Resize(g%50 + 1)
				for i := range grow.Len() {
					grow.Set(0, i, uint64(i+1))
				}
			}
			if err == nil {
				err = names.SetName(0, fmt.Sprintf("gen-%d", g))
			}
			if old, ok := handles[g-3]; ok && err == nil {
				if err = old[1].Delete(); err == nil {
					err = old[0].Delete()
				}
				delete(handles, g-3)
			}
			if g%100 == 0 {
				release := w.HoldLock() // VPP slow in a change
				time.Sleep(200 * time.Microsecond)
				release()
			}
			if err != nil {
				writerErr = fmt.Errorf("generation %d: %w", g, err)
				stop.Store(true)
				return
			}
			gens.Store(int64(g))
		}
	}()

	r, err := Connect(sock, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Attempts = 3 // let busy outcomes happen, so both paths are taken
	var s Snapshot
	prevLive := make([][]uint64, 2)
	var ok, busy int
	deadline := time.Now().Add(3 * time.Second)
	for (ok < 3000 || time.Now().Before(deadline)) && !stop.Load() && time.Now().Before(deadline.Add(20*time.Second)) {
		err := r.Snapshot(&s, nil)
		if errors.Is(err, ErrBusy) {
			busy++
			continue
		}
		if err != nil {
			t.Fatalf("read %d: %v", ok, err)
		}
		if len(s.Errs) != 0 {
			t.Fatalf("read %d: unreadable entries in a consistent snapshot: %v", ok, s.Errs)
		}
		ok++
		checkChurnSnapshot(t, &s, prevLive)
	}
	stop.Store(true)
	wg.Wait()
	if writerErr != nil {
		t.Fatal(writerErr)
	}
	t.Logf("%d consistent reads, %d busy, %d generations", ok, busy, gens.Load())
	if ok < 100 || gens.Load() < 100 {
		t.Fatalf("too little happened to prove anything: %d reads, %d generations", ok, gens.Load())
	}
}

func checkChurnSnapshot(t *testing.T, s *Snapshot, prevLive [][]uint64) {
	t.Helper()
	seen := 0
	for _, i := range s.Wanted {
		e, v := &s.Dir.Entries[i], &s.Values[i]
		rest, isChurn := strings.CutPrefix(e.Name, "/churn/")
		switch {
		case isChurn && e.Type == TypeSymlink:
			g, _ := strconv.Atoi(strings.TrimSuffix(rest, "/first"))
			for th, row := range v.Simple {
				if len(row) != 1 || (row[0] != 0 && row[0] != uint64(g)) {
					t.Fatalf("%s thread %d = %v: another generation's values", e.Name, th, row)
				}
			}
			seen++
		case isChurn:
			g, err := strconv.Atoi(rest)
			if err != nil {
				t.Fatalf("unexpected entry %q", e.Name)
			}
			for th, row := range v.Simple {
				if len(row) != churnLen(g) {
					t.Fatalf("%s thread %d has %d cells, generation %d has %d: torn directory", e.Name, th, len(row), g, churnLen(g))
				}
				for k, c := range row {
					if c != 0 && c != uint64(g) {
						t.Fatalf("%s[%d @ %d] = %d: another generation's values", e.Name, k, th, c)
					}
				}
			}
		case e.Name == "/test/grow":
			for k, c := range v.Simple[0] {
				if c != 0 && c != uint64(k+1) {
					t.Fatalf("/test/grow[%d] = %d, want 0 or %d", k, c, k+1)
				}
			}
		case e.Name == "/test/names":
			if len(e.Names) != 1 || !strings.HasPrefix(e.Names[0], "gen-") {
				t.Fatalf("/test/names = %q", e.Names)
			}
		case e.Name == "/test/live":
			for th, row := range v.Simple {
				for k, c := range row {
					if prevLive[th] != nil && c < prevLive[th][k] {
						t.Fatalf("/test/live[%d @ %d] went back from %d to %d", k, th, prevLive[th][k], c)
					}
				}
				prevLive[th] = append(prevLive[th][:0], row...)
			}
		}
	}
	if seen > 4 {
		// g-3 is deleted after g is added: four at most, never more.
		t.Fatalf("%d generations' symlinks at once; the writer keeps 4 at most", seen)
	}
}
