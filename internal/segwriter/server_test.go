package segwriter

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/internal/statseg/layout"
)

func socketPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "stats.sock")
}

func newTestServer(t *testing.T, path string, fd int) *Server {
	t.Helper()
	s, err := NewServer(path, fd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawReceive connects like VPP's C client and returns the payload length
// and the received fds.
func rawReceive(t *testing.T, path string) (int, []int) {
	t.Helper()
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sock)
	tv := unix.NsecToTimeval(int64(5 * time.Second))
	if err := unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(sock, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, m := range msgs {
		f, err := unix.ParseUnixRights(&m)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, f...)
	}
	for _, f := range fds {
		t.Cleanup(func() { unix.Close(f) })
	}
	// Then the server hangs up.
	if n2, _, _, _, err := unix.Recvmsg(sock, buf, nil, 0); n2 != 0 || err != nil {
		t.Errorf("after the fd: %d bytes, %v; want the end of the connection", n2, err)
	}
	return n, fds
}

func TestServerSendsFdLikeVPP(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: MinWriterSize})
	path := socketPath(t)
	newTestServer(t, path, w.Fd())

	n, fds := rawReceive(t, path)
	if n != 0 || len(fds) != 1 {
		t.Fatalf("got %d payload bytes and %d fds, want 0 and 1", n, len(fds))
	}
	var st unix.Stat_t
	if err := unix.Fstat(fds[0], &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != int64(w.Size()) {
		t.Errorf("fd size %d, want %d", st.Size, w.Size())
	}
}

func TestServerLiveSegment(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: 1 << 20, Threads: 2})
	rx := must[CombinedCounter](t)(w.AddCombinedCounter("/if/rx", 2))
	path := socketPath(t)
	newTestServer(t, path, w.Fd())

	r, err := statseg.Connect(path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s statseg.Snapshot
	for i := range uint64(3) {
		rx.Add(1, 1, 1, 100)
		must[Scalar](t)(w.AddScalar("/x/" + string(rune('a'+i))))
		if err := r.Snapshot(&s, nil); err != nil {
			t.Fatal(err)
		}
		_, v := lookup(t, &s, "/if/rx")
		if got := v.Combined[1][1]; got != (layout.Combined{Packets: i + 1, Bytes: 100 * (i + 1)}) {
			t.Errorf("round %d: reader sees %+v", i, got)
		}
		if len(s.Dir.Entries) != int(2+i) {
			t.Errorf("round %d: %d entries", i, len(s.Dir.Entries))
		}
	}
}

func TestServerSetFd(t *testing.T) {
	a := newTestWriter(t, WriterOptions{Size: MinWriterSize})
	must[Scalar](t)(a.AddScalar("/sys/boottime")).Set(1)
	b := newTestWriter(t, WriterOptions{Size: MinWriterSize})
	must[Scalar](t)(b.AddScalar("/sys/boottime")).Set(2)
	path := socketPath(t)
	srv := newTestServer(t, path, a.Fd())

	boottime := func() uint64 {
		r, err := statseg.Connect(path, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		_, v := lookup(t, readAll(t, r), "/sys/boottime")
		return v.Scalar
	}
	if got := boottime(); got != 1 {
		t.Fatalf("boottime %d before the swap", got)
	}
	if err := srv.SetFd(b.Fd()); err != nil {
		t.Fatal(err)
	}
	// The writer's fd may go away: the server serves its own duplicate.
	b.Close()
	if got := boottime(); got != 2 {
		t.Fatalf("boottime %d after the swap", got)
	}
}

func TestServeFileReadOnlyCopy(t *testing.T) {
	capture := "../../testdata/vpp/v26.06/a.seg.gz"
	path := socketPath(t)
	srv, err := ServeFile(path, capture)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	_, fds := rawReceive(t, path)
	if len(fds) != 1 {
		t.Fatalf("%d fds", len(fds))
	}
	if _, err := unix.Mmap(fds[0], 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err == nil {
		t.Error("a replayed segment can be mapped writable")
	}

	dump := func(r *statseg.Reader) string {
		defer r.Close()
		return dumpOf(t, readAll(t, r))
	}
	served, err := statseg.Connect(path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	file, err := statseg.OpenFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := dump(served), dump(file); a != b || len(a) < 1000 {
		t.Errorf("served capture differs from the file (%d vs %d bytes of dump)", len(a), len(b))
	}
}

func TestServerErrors(t *testing.T) {
	w := newTestWriter(t, WriterOptions{Size: MinWriterSize})
	dir := t.TempDir()

	_, err := NewServer(filepath.Join(dir, "missing", "stats.sock"), w.Fd())
	if err == nil || !strings.Contains(err.Error(), "socket directory") {
		t.Errorf("missing directory: %v", err)
	}

	path := filepath.Join(dir, "stats.sock")
	srv := newTestServer(t, path, w.Fd())
	if _, err := NewServer(path, w.Fd()); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second server on a live socket: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left behind: %v", err)
	}

	// A stale socket (its server died without removing it) is replaced.
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	srv2 := newTestServer(t, path, w.Fd())
	if _, fds := rawReceive(t, path); len(fds) != 1 {
		t.Error("no fd from the server that replaced a stale socket")
	}
	srv2.Close()

	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewServer(plain, w.Fd()); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file: %v", err)
	}
	if _, err := NewServer(filepath.Join(dir, "x.sock"), 12345); err == nil {
		t.Error("bad fd accepted")
	}
	if _, err := ServeFile(filepath.Join(dir, "y.sock"), plain); err == nil {
		t.Error("empty segment file accepted")
	}
}
