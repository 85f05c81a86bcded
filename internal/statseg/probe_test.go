package statseg

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vppstats/vppstats/internal/segwriter"
)

// probedReader serves a simulated segment on a fresh socket and connects a
// reader to it.
func probedReader(t *testing.T) (string, *segwriter.Writer, *segwriter.Server, *Reader) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "stats.sock")
	w := newTestWriter(t, segwriter.WriterOptions{Size: 1 << 20})
	srv := newTestServer(t, sock, w.Fd())
	r, err := Connect(sock, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return sock, w, srv, r
}

// stopVPP stands for a VPP whose main thread stopped: its server is gone, but
// the socket listens and nobody accepts, so connections queue unanswered.
// Closing the listener is VPP dying (the kernel drops the queue).
func stopVPP(t *testing.T, srv *segwriter.Server, sock string) *net.UnixListener {
	t.Helper()
	srv.Close()
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestProbe walks one reader through every answer a stats socket can give,
// on a simulated VPP (probe_vpp_test.go does the same with a real one).
func TestProbe(t *testing.T) {
	sock, w, srv, r := probedReader(t)
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
	ln := stopVPP(t, srv, sock)
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
	w2 := newTestWriter(t, segwriter.WriterOptions{Size: 1 << 20})
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

// A stopped VPP gets one probe connection, not one per probe: the next
// probes wait on it, and when VPP resumes it answers that one.
func TestProbeWaitsOnItsPendingConnection(t *testing.T) {
	sock, w, srv, r := probedReader(t)
	defer r.Close()
	ln := stopVPP(t, srv, sock)
	for range 5 {
		if got, _ := r.Probe(50 * time.Millisecond); got != NoAnswer {
			t.Fatalf("Probe of a stopped VPP = %v", got)
		}
	}
	// VPP resumes: it finds one connection waiting and answers it.
	ln.SetDeadline(time.Now().Add(time.Second))
	c, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.WriteMsgUnix(nil, syscall.UnixRights(w.Fd()), nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	ln.SetDeadline(time.Now().Add(100 * time.Millisecond))
	if extra, err := ln.AcceptUnix(); err == nil {
		extra.Close()
		t.Fatal("more than one probe connection was queued")
	}
	if got, err := r.Probe(time.Second); got != Alive {
		t.Fatalf("Probe after the answer = %v, %v", got, err)
	}
}

// VPP killed while stopped hangs up the probe it never answered: the next
// probe asks again and finds VPP gone.
func TestProbeOfAVPPKilledWhileStopped(t *testing.T) {
	sock, _, srv, r := probedReader(t)
	defer r.Close()
	ln := stopVPP(t, srv, sock)
	if got, _ := r.Probe(50 * time.Millisecond); got != NoAnswer {
		t.Fatalf("Probe of a stopped VPP = %v", got)
	}
	ln.Close() // the kernel drops the queued connection and the socket file
	if got, err := r.Probe(time.Second); got != Gone || !errors.Is(err, ErrGone) {
		t.Fatalf("Probe after VPP died = %v, %v", got, err)
	}
}

// TestProbeAndCloseTakeTurns: a probe racing Close (vppstatsfs probes from
// its own goroutine) neither races on the connection a probe keeps for an
// unanswered VPP nor leaks it, and a probe after Close says the reader is
// closed.
func TestProbeAndCloseTakeTurns(t *testing.T) {
	sock, _, srv, r := probedReader(t)
	// A stopped VPP: the probe keeps its unanswered connection.
	stopVPP(t, srv, sock)
	done := make(chan Liveness)
	go func() {
		l, _ := r.Probe(100 * time.Millisecond)
		done <- l
	}()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if l := <-done; l != NoAnswer && l != Failed {
		t.Fatalf("probe racing Close = %v, want no answer (before Close) or failed (after)", l)
	}
	if r.conn.pending >= 0 {
		t.Fatalf("the unanswered probe's connection %d stayed open after Close", r.conn.pending)
	}
	if l, err := r.Probe(100 * time.Millisecond); l != Failed || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Probe after Close = %v, %v; want failed, os.ErrClosed", l, err)
	}
}
