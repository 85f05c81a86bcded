package vppapi

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A minimal starter of the real VPP for this package's live tests (the
// receiver's internal/vpptest is the shared one).

// vppDir is the VPP runtime: $VPPSTATS_VPP_DIR, else ../shared/vpp/v26.06
// beside the repository.
func vppDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VPPSTATS_VPP_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "vpp", "v26.06")
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "vpp")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("VPP runtime not found at %s (set VPPSTATS_VPP_DIR): %v", dir, err)
		}
		t.Skipf("VPP runtime not found at %s (set VPPSTATS_VPP_DIR)", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

type realVPP struct {
	t    *testing.T
	dir  string
	run  string
	cmd  *exec.Cmd
	done chan struct{}
}

var vppSeq atomic.Int64

// startVPP starts VPP in run (a new temporary directory when "").
func startVPP(t *testing.T, run string) *realVPP {
	t.Helper()
	if run == "" {
		var err error
		if run, err = os.MkdirTemp("", "vppapi"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(run) })
	}
	v := &realVPP{t: t, dir: vppDir(t), run: run, done: make(chan struct{})}
	// A VPP stopped before leaves api.sock and cli.sock behind: wait for
	// new ones.
	oldAPI := socketIdentity(v.socket())
	_ = os.Remove(filepath.Join(run, "cli.sock"))
	tmpl, err := os.ReadFile(filepath.Join(v.dir, "startup.conf.template"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("@RUN@", run, "@PREFIX@", fmt.Sprintf("vppapi%d_%d", os.Getpid(), vppSeq.Add(1))).Replace(string(tmpl))
	confPath := filepath.Join(run, "startup.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(run, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	v.cmd = exec.Command(filepath.Join(v.dir, "run-vpp.sh"), confPath)
	v.cmd.Stdout, v.cmd.Stderr = out, out
	if err := v.cmd.Start(); err != nil {
		t.Fatalf("starting VPP: %v", err)
	}
	go func() { _ = v.cmd.Wait(); out.Close(); close(v.done) }()
	t.Cleanup(v.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if id := socketIdentity(v.socket()); id != 0 && id != oldAPI {
			if _, err := os.Stat(filepath.Join(run, "cli.sock")); err == nil {
				break
			}
		}
		select {
		case <-v.done:
			log, _ := os.ReadFile(filepath.Join(run, "stdout.log"))
			t.Fatalf("VPP exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("VPP did not create its API socket within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return v
}

func (v *realVPP) socket() string { return filepath.Join(v.run, "api.sock") }

// stop ends VPP with SIGTERM (it removes its sockets) and waits for it.
func (v *realVPP) stop() {
	select {
	case <-v.done:
		return
	default:
	}
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.done:
	case <-time.After(10 * time.Second):
		_ = v.cmd.Process.Kill()
		<-v.done
	}
}

// ctl runs one vppctl command.
func (v *realVPP) ctl(args ...string) string {
	v.t.Helper()
	cmd := exec.Command(filepath.Join(v.dir, "bin", "vppctl"), append([]string{"-s", filepath.Join(v.run, "cli.sock")}, args...)...)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(v.dir, "lib"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		v.t.Fatalf("vppctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
