package statseg

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vppstats/vppstats/internal/segwriter"
)

// TestConnectErrors checks that every way of failing to reach VPP says what
// to check, for the paths an operator gets wrong.
func TestConnectErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, path, want string
		setup            func(path string)
	}{
		{"missing", filepath.Join(dir, "none.sock"), "does not exist: is VPP running", nil},
		{"not a socket", filepath.Join(dir, "file"), "refused the connection", func(p string) { os.WriteFile(p, nil, 0o644) }},
		{"stale socket file", filepath.Join(dir, "stale.sock"), "refused the connection", func(p string) {
			// A socket file nobody listens on any more, as a crashed VPP leaves.
			fd, _ := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
			syscall.Bind(fd, &syscall.SockaddrUnix{Name: p})
			syscall.Close(fd)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup(c.path)
			}
			_, err := Connect(c.path, time.Second)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
				t.Fatalf("Connect(%s) = %v, want an error naming the path and saying %q", c.path, err, c.want)
			}
		})
	}
}

// TestConnectPermissionDenied connects, as an unprivileged user, to a stats
// socket that user may not write to. Root ignores socket permissions, so
// when the tests run as root (CI does) the check runs in a copy of this test
// binary started as nobody.
func TestConnectPermissionDenied(t *testing.T) {
	if sock := os.Getenv("VPPSTATS_TEST_DENIED_SOCKET"); sock != "" {
		_, err := Connect(sock, time.Second)
		if err == nil || !strings.Contains(err.Error(), "permission denied on stats socket "+sock) {
			t.Fatalf("Connect = %v, want permission denied naming the socket", err)
		}
		return
	}
	w := newTestWriter(t, segwriter.WriterOptions{Size: 1 << 20})
	// t.TempDir's parent is private to root: nobody needs a way in.
	dir, err := os.MkdirTemp("", "vppstats-denied-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "stats.sock")
	newTestServer(t, sock, w.Fd())
	if err := os.Chmod(sock, 0o600); err != nil { // VPP's socket, owned by root
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		os.Chmod(sock, 0)
		_, err := Connect(sock, time.Second)
		if err == nil || !strings.Contains(err.Error(), "permission denied on stats socket "+sock) {
			t.Fatalf("Connect = %v, want permission denied naming the socket", err)
		}
		return
	}
	// nobody must be able to run the test binary: copy it where it can.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "statseg.test")
	copyFile(t, self, bin)
	cmd := exec.Command(bin, "-test.run=^TestConnectPermissionDenied$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "VPPSTATS_TEST_DENIED_SOCKET="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestConnectPermissionDenied") {
		t.Fatalf("as nobody, the check did not run:\n%s", out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
