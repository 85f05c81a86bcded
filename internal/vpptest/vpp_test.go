package vpptest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCLIFailed(t *testing.T) {
	for _, c := range []struct {
		cmd, out string
		failed   bool
	}{
		{"create loopback interface", "loop0\n", false},
		{"show version", "vpp v26.06-release built by root\n", false},
		{"foo bar", "unknown input `foo bar'\n", true},
		{"set interface state loop9 up", "set interface state: unknown interface `loop9 up'\n", true},
		{"exec /x.cli", "exec: CLI line error: loop9 up\n", true},
		{"show errors", "   Count    Node   Reason   Severity\n", false},
		{"set interface state loop0 up", "", false},
	} {
		if got := cliFailed(c.cmd, c.out); got != c.failed {
			t.Errorf("cliFailed(%q, %q) = %v, want %v", c.cmd, c.out, got, c.failed)
		}
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// One VPP through its whole life: CLI, C reader, SIGSTOP, SIGKILL (socket
// left behind), start again, SIGTERM (socket removed), Close.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	v := Start(t, Options{UpdateInterval: 100 * time.Millisecond})
	if got := v.MustCLI(t, "create loopback interface"); strings.TrimSpace(got) != "loop0" {
		t.Fatalf("create loopback: %q", got)
	}
	if _, err := v.CLI("set interface state loop9 up"); err == nil {
		t.Fatal("a failing CLI command returned no error")
	}
	if _, err := v.ExecLines("set interface state loop0 up", "create sub-interfaces loop0 7"); err != nil {
		t.Fatal(err)
	}
	if out := v.MustGetStats(t, "ls", "^/if/names$"); strings.TrimSpace(out) != "/if/names" {
		t.Fatalf("vpp_get_stats ls: %q", out)
	}
	names := v.MustGetStats(t, "dump", "^/if/names$")
	for _, want := range []string{"[0]: local0 /if/names", "[1]: loop0 /if/names", "[2]: loop0.7 /if/names"} {
		if !strings.Contains(names, want) {
			t.Errorf("/if/names lacks %q:\n%s", want, names)
		}
	}
	if !strings.Contains(v.MustGetStats(t, "dump", "^/sys/heartbeat$"), "/sys/heartbeat") {
		t.Fatal("no /sys/heartbeat")
	}

	if err := v.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if !v.Running() {
		t.Fatal("a stopped VPP is still a running process")
	}
	if err := v.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}

	pid := v.Pid()
	if err := v.Kill(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if v.Running() {
		t.Fatal("running after SIGKILL")
	}
	if _, err := os.Stat(v.StatsSocket()); err != nil {
		t.Fatalf("SIGKILL should leave stats.sock behind: %v", err)
	}
	if accepts(v.StatsSocket()) {
		t.Fatal("the socket of a killed VPP accepts connections")
	}
	if err := v.Start(); err != nil {
		t.Fatal(err)
	}
	if v.Pid() == pid {
		t.Fatal("same pid after a restart")
	}
	if strings.Contains(v.MustGetStats(t, "dump", "^/if/names$"), "loop0") {
		t.Fatal("the restarted VPP has the old VPP's interfaces")
	}
	if err := v.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := v.Kill(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(v.StatsSocket()); !os.IsNotExist(err) {
		t.Fatalf("SIGTERM should remove stats.sock: %v", err)
	}
	run := v.Run
	v.Close()
	if _, err := os.Stat(run); !os.IsNotExist(err) {
		t.Fatalf("Close left %s: %v", run, err)
	}
	if shm, _ := filepath.Glob("/dev/shm/" + v.Prefix + "-*"); len(shm) > 0 {
		t.Fatalf("Close left %v", shm)
	}
}

func TestRunFS(t *testing.T) {
	t.Parallel()
	for _, fs := range []FS{DiskFS, TmpFS} {
		t.Run(fs.String(), func(t *testing.T) {
			t.Parallel()
			v := Start(t, Options{RunFS: fs})
			if got := isTmpfs(v.Run); got != (fs == TmpFS) {
				t.Fatalf("%s: tmpfs is %v", v.Run, got)
			}
			ino := inode(t, v.StatsSocket())
			if err := v.Kill(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if err := v.Start(); err != nil {
				t.Fatal(err)
			}
			// Recorded, not asserted: whether the inode is reused is the
			// filesystem's business, and the receiver must not depend on it.
			t.Logf("%v: stats.sock inode %d before SIGKILL, %d after the restart", fs, ino, inode(t, v.StatsSocket()))
		})
	}
}

func TestExporter(t *testing.T) {
	t.Parallel()
	v := Start(t, Options{})
	e, err := StartExporter(v.StatsSocket(), "/sys/boottime", "/if/names")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	body, err := e.Scrape()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "_sys_boottime") {
		t.Fatalf("no /sys/boottime in:\n%s", body)
	}
}

func TestStartFailsClearly(t *testing.T) {
	t.Setenv(DirEnv, t.TempDir())
	_, err := New(Options{})
	if err == nil || !strings.Contains(err.Error(), DirEnv) {
		t.Fatalf("want an error naming %s, got %v", DirEnv, err)
	}
}
