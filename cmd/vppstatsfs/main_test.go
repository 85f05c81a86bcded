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

	"github.com/vppstats/vppstats/internal/statsfs"
)

// The test binary doubles as vppstatsfs when VPPSTATSFS_MAIN is set.
func TestMain(m *testing.M) {
	if os.Getenv("VPPSTATSFS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func requireFUSE(t *testing.T) {
	t.Helper()
	why := statsfs.Unavailable()
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("FUSE is unavailable: %s", why)
	}
	t.Skipf("FUSE is unavailable: %s (set CI=true to make this a failure)", why)
}

func mounted(mnt string) bool {
	data, _ := os.ReadFile("/proc/mounts")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[1] == mnt {
			return true
		}
	}
	return false
}

// vppstatsfs mounts a segment, serves it, and unmounts cleanly on SIGINT
// and SIGTERM.
func TestSignalUnmounts(t *testing.T) {
	requireFUSE(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			mnt := t.TempDir()
			cmd := exec.Command(os.Args[0], "--segment", "../../testdata/vpp/v26.06/b.seg.gz", mnt)
			cmd.Env = append(os.Environ(), "VPPSTATSFS_MAIN=1")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			deadline := time.Now().Add(10 * time.Second)
			for !mounted(mnt) {
				if time.Now().After(deadline) {
					t.Fatalf("not mounted after 10s; output:\n%s", out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			data, err := os.ReadFile(filepath.Join(mnt, "sys/boottime"))
			if err != nil || string(data) != "1795476708\n" {
				t.Errorf("sys/boottime: %q, %v", data, err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit: %v; output:\n%s", err, out.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("still running 10s after %v; output:\n%s", sig, out.String())
			}
			if mounted(mnt) {
				t.Errorf("%s still mounted", mnt)
			}
			if ents, err := os.ReadDir(mnt); err != nil || len(ents) != 0 {
				t.Errorf("mount point after exit: %v, %v", ents, err)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--socket", "a", "--segment", "b", "/mnt"}, {"a", "b"}} {
		if err := run(args); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
	if err := run([]string{"--segment", "/nonexistent.seg", t.TempDir()}); err == nil {
		t.Errorf("mounting a missing segment file succeeded")
	}
}
