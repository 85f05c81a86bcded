package statseg

import (
	"errors"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestProbe walks one reader through every answer a stats socket can give,
// on a simulated VPP (probe_vpp_test.go does the same with a real one).
func TestProbe(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "stats.sock")
	w := newTestWriter(t, WriterOptions{Size: 1 << 20})
	srv := newTestServer(t, sock, w.Fd())
	r, err := Connect(sock, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	probe := func(want Liveness, wantErr error) {
		t.Helper()
		got, err := r.Probe(200 * time.Millisecond)
		if got != want || (wantErr == nil) != (err == nil) || (wantErr != nil && !errors.Is(err, wantErr)) {
			t.Fatalf("Probe = %v, %v; want %v, %v", got, err, want, wantErr)
		}
		if ClassifyError(err) != want && err != nil {
			t.Fatalf("ClassifyError(%v) = %v, want %v", err, ClassifyError(err), want)
		}
	}
	probe(Alive, nil)

	// Stopped: connections queue up, nobody answers.
	srv.Close()
	ln, err := net.Listen("unixpacket", sock)
	if err != nil {
		t.Fatal(err)
	}
	probe(NoAnswer, ErrNoAnswer)
	ln.Close()
	probe(Gone, ErrGone) // no socket file

	// Killed: the socket file stays, nobody listens.
	fd, _ := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd)
	probe(Gone, ErrGone)

	// Back with the same segment, then with another.
	srv = newTestServer(t, sock, w.Fd())
	probe(Alive, nil)
	w2 := newTestWriter(t, WriterOptions{Size: 1 << 20})
	if err := srv.SetFd(w2.Fd()); err != nil {
		t.Fatal(err)
	}
	probe(Restarted, nil)
}

func TestProbeOfAFileIsAlive(t *testing.T) {
	r, err := OpenFile(filepath.Join("..", "..", "testdata", "vpp", "v26.06", "a.seg.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Probe(time.Second); got != Alive || err != nil {
		t.Fatalf("Probe of a file = %v, %v", got, err)
	}
}
