package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vppstats/vppstats/internal/statseg"
)

func TestServeArgumentErrors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "stats.sock")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--simulate"}, "--socket PATH is required"},
		{[]string{"--socket", sock}, "exactly one of"},
		{[]string{"--socket", sock, "--simulate", "--replay", "x.seg"}, "exactly one of"},
		{[]string{"--socket", sock, "--replay", "x.seg", "--threads", "2"}, "only applies with --simulate"},
		{[]string{"--socket", sock, "--simulate", "extra"}, "unexpected arguments"},
		{[]string{"--socket", sock, "--simulate", "--update-interval", "0s"}, "must be positive"},
		{[]string{"--socket", sock, "--replay", "x.seg", "--update-interval", "-1s"}, "must not be negative"},
		{[]string{"--socket", sock, "--replay", filepath.Join(t.TempDir(), "gone.seg.gz"), "--update-interval", "1s"}, "gone.seg.gz"},
		{[]string{"--socket", sock, "--simulate", "--threads", "-1"}, "out of range"},
		{[]string{"--socket", sock, "--replay", filepath.Join(t.TempDir(), "missing.seg.gz")}, "missing.seg.gz"},
		{[]string{"--socket", filepath.Join(t.TempDir(), "no", "dir.sock"), "--simulate"}, "socket directory"},
	} {
		err := runServe(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %q: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestMain lets the test binary run as vppstat itself (VPPSTAT_MAIN=1), so
// that signal handling is tested on a real process.
func TestMain(m *testing.M) {
	if os.Getenv("VPPSTAT_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestServeStopsCleanly: `vppstat serve` serves until SIGINT or SIGTERM,
// then exits 0 and removes its socket.
func TestServeStopsCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		for _, mode := range [][]string{{"--simulate"}, {"--replay", "../../testdata/vpp/v25.10/a.seg.gz"},
			{"--replay", "../../testdata/vpp/v25.10/a.seg.gz", "--update-interval", "10ms"}} {
			t.Run(sig.String()+mode[0], func(t *testing.T) {
				sock := filepath.Join(t.TempDir(), "stats.sock")
				cmd := exec.Command(os.Args[0], append([]string{"serve", "--socket", sock}, mode...)...)
				cmd.Args[0] = "vppstat"
				cmd.Path = os.Args[0]
				cmd.Env = append(os.Environ(), "VPPSTAT_MAIN=1")
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer cmd.Process.Kill()
				deadline := time.Now().Add(10 * time.Second)
				for {
					if r, err := statseg.Connect(sock, time.Second); err == nil {
						r.Close()
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("no segment served on %s:\n%s", sock, out.String())
					}
					time.Sleep(20 * time.Millisecond)
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("exit after %v: %v\n%s", sig, err, out.String())
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("still running 10 s after %v", sig)
				}
				if _, err := os.Lstat(sock); !os.IsNotExist(err) {
					t.Errorf("socket %s left behind (%v)", sock, err)
				}
			})
		}
	}
}

// TestServeReplayUpdateInterval: `vppstat serve --replay FILE
// --update-interval D` serves a segment whose heartbeat and interface
// counters move at a constant epoch, as a live VPP's do; without the flag
// the replay stays frozen.
func TestServeReplayUpdateInterval(t *testing.T) {
	const capture = "../../testdata/vpp/v26.06/a.seg.gz"
	read := func(r *statseg.Reader) (epoch, heartbeat, rxPackets uint64) {
		t.Helper()
		var s statseg.Snapshot
		if err := r.Snapshot(&s, nil); err != nil {
			t.Fatal(err)
		}
		value := func(name string) *statseg.Value {
			e, ok := s.Dir.Lookup(name)
			if !ok {
				t.Fatalf("%s missing", name)
			}
			for i := range s.Dir.Entries {
				if &s.Dir.Entries[i] == e {
					return &s.Values[i]
				}
			}
			t.Fatalf("%s not in Entries", name)
			return nil
		}
		return s.Dir.Epoch, value("/sys/heartbeat").Scalar, value("/if/rx").Combined[1][1].Packets
	}
	for _, tc := range []struct {
		name   string
		extra  []string
		moving bool
	}{
		{"updated", []string{"--update-interval", "10ms"}, true},
		{"frozen", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "stats.sock")
			startServe(t, append([]string{"serve", "--socket", sock, "--replay", capture}, tc.extra...)...)
			r := connectServed(t, sock)
			defer r.Close()
			epoch0, hb0, rx0 := read(r)
			// Polls until the heartbeat has moved three times (bounded); a
			// frozen replay is read 20 times over 100 ms, 10 updates' worth.
			tries := 2000
			if !tc.moving {
				tries = 20
			}
			var epoch, hb, rx uint64
			for range tries {
				time.Sleep(5 * time.Millisecond)
				if epoch, hb, rx = read(r); hb >= hb0+3 {
					break
				}
			}
			if !tc.moving {
				if epoch != epoch0 || hb != hb0 || rx != rx0 {
					t.Errorf("frozen replay moved: epoch %d->%d, heartbeat %d->%d, rx %d->%d", epoch0, epoch, hb0, hb, rx0, rx)
				}
				return
			}
			if hb < hb0+3 || rx < rx0+3*1000 || epoch != epoch0 {
				t.Errorf("updating replay: epoch %d->%d, heartbeat %d->%d, rx %d->%d; want the epoch kept and heartbeat, rx moving", epoch0, epoch, hb0, hb, rx0, rx)
			}
		})
	}
}

// startServe runs the test binary as vppstat with args, killed at the end
// of the test.
func startServe(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Args[0] = "vppstat"
	cmd.Env = append(os.Environ(), "VPPSTAT_MAIN=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("vppstat %q:\n%s", args, out.String())
		}
	})
}

// connectServed connects to sock once the server answers (within 10 s).
func connectServed(t *testing.T, sock string) *statseg.Reader {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := statseg.Connect(sock, time.Second)
		if err == nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("no segment served on %s: %v", sock, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
