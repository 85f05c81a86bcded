package vppsim

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Profile is a size of simulated VPP that the benchmarks of every package
// share, so that their figures compare: Interfaces interfaces, Threads
// workers, 1,000 nodes and 3,000 error counters.
type Profile struct {
	Name       string // sim-<interfaces>x<threads>
	Interfaces int
	Threads    int
}

// Profiles returns the benchmark profiles: 1,000 / 10,000 interfaces × 1 / 4
// / 8 workers, and with large also 50,000 interfaces (minutes to build).
func Profiles(large bool) []Profile {
	var ps []Profile
	for _, ifs := range []int{1000, 10000, 50000} {
		if ifs >= 50000 && !large {
			continue
		}
		for _, threads := range []int{1, 4, 8} {
			ps = append(ps, Profile{Name: fmt.Sprintf("sim-%dx%d", ifs, threads), Interfaces: ifs, Threads: threads})
		}
	}
	return ps
}

// cacheVersion names the simulated segment's layout and contents in the
// cache's file names: bump it whenever this package or segwriter changes
// what a profile's segment holds, so that no benchmark reads a stale one.
// (2: counters grow in place as vec_validate does; loops_per_worker is a
// rate; error and heap symlinks are added without the lock.)
const cacheVersion = 2

// CachedSegment returns a file holding the profile's segment, advanced by
// one second of traffic. Building the largest takes seconds (BenchmarkNew)
// and every benchmark package reads the same segments, so the file is kept
// across runs in $VPPSTATS_BENCH_CACHE (default: the user cache
// directory), under a name that carries cacheVersion.
func (p Profile) CachedSegment() (path string, built time.Duration, err error) {
	dir := os.Getenv("VPPSTATS_BENCH_CACHE")
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		dir = filepath.Join(c, "vppstats-bench")
	}
	path = filepath.Join(dir, fmt.Sprintf("sim-v%d-%dif-%dthr-1000nodes-3000err.seg", cacheVersion, p.Interfaces, p.Threads))
	if _, err := os.Stat(path); err == nil {
		return path, 0, nil
	}
	start := time.Now()
	sim, err := New(Options{Interfaces: p.Interfaces, Threads: p.Threads, Nodes: 1000, Errors: 3000, SegmentSize: segmentSize(p.Interfaces)})
	if err != nil {
		return "", 0, err
	}
	defer sim.Close()
	sim.Advance(time.Second)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, err
	}
	tmp, err := os.CreateTemp(dir, "building-*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name())
	if _, err := sim.Writer().WriteTo(tmp); err != nil {
		tmp.Close()
		return "", 0, err
	}
	if err := tmp.Close(); err != nil {
		return "", 0, err
	}
	return path, time.Since(start), os.Rename(tmp.Name(), path)
}

// segmentSize is a stats segment size that holds a profile of ifs
// interfaces (VPP's `statseg { size }` would be set the same way).
func segmentSize(ifs int) int {
	if ifs > 10000 {
		return 1 << 30
	}
	return 256 << 20
}
