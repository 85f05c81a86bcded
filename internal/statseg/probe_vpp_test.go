//go:build vpp

package statseg

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vppstats/vppstats/internal/vpptest"
)

// TestVPPProbe: what a real VPP's stats socket answers when VPP runs, is
// stopped, resumed, killed (socket left behind) and started again, with the
// RUN directory on a disk filesystem, where the new socket often gets the
// old one's inode, and on tmpfs.
func TestVPPProbe(t *testing.T) {
	t.Parallel()
	for _, fs := range []vpptest.FS{vpptest.DiskFS, vpptest.TmpFS} {
		t.Run(fs.String(), func(t *testing.T) {
			t.Parallel()
			v := vpptest.Start(t, vpptest.Options{RunFS: fs})
			r, err := Connect(v.StatsSocket(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			probe := func(want Liveness) {
				t.Helper()
				if got, err := r.Probe(time.Second); got != want {
					t.Fatalf("Probe = %v (%v), want %v", got, err, want)
				}
			}
			probe(Alive)
			noErr(t, v.Signal(syscall.SIGSTOP))
			for range 3 {
				probe(NoAnswer)
			}
			noErr(t, v.Signal(syscall.SIGCONT))
			probe(Alive)
			// One probe connection waited for VPP, and got its answer.
			if log, _ := os.ReadFile(v.LogPath()); strings.Contains(string(log), "Broken pipe") {
				t.Errorf("VPP answered probes that were gone:\n%s", log)
			}
			noErr(t, v.Kill(syscall.SIGKILL))
			probe(Gone)
			noErr(t, v.Start())
			probe(Restarted)
			t.Logf("%v: SocketReplaced after SIGKILL and restart: %v", fs, r.SocketReplaced())
		})
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkVPPProbe measures what the receiver adds to every scrape to tell
// a live VPP from a dead or restarted one, next to the alternatives on the
// same VPP: connecting and mapping anew (Connect+Close), and the read the
// scrape does anyway (Snapshot of everything).
func BenchmarkVPPProbe(b *testing.B) {
	v := vpptest.Start(b, vpptest.Options{})
	if _, err := v.ExecLines("create loopback interface", "create loopback interface", "create sub-interfaces loop0 100"); err != nil {
		b.Fatal(err)
	}
	r, err := Connect(v.StatsSocket(), 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.Run("Probe", func(b *testing.B) {
		for b.Loop() {
			if l, err := r.Probe(time.Second); l != Alive {
				b.Fatal(l, err)
			}
		}
	})
	b.Run("Connect", func(b *testing.B) {
		for b.Loop() {
			c, err := Connect(v.StatsSocket(), time.Second)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
	b.Run("Snapshot", func(b *testing.B) {
		var s Snapshot
		for b.Loop() {
			if err := r.Snapshot(&s, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
