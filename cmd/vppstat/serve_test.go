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
		for _, mode := range [][]string{{"--simulate"}, {"--replay", "../../testdata/vpp/v25.10/a.seg.gz"}} {
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
