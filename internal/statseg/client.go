package statseg

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vppstats/vppstats/internal/statseg/layout"
)

// DefaultSocketPath is where VPP listens for stats clients unless
// `statseg { socket-name ... }` says otherwise.
const DefaultSocketPath = "/run/vpp/stats.sock"

// maxSegmentSize bounds the size a reader maps. VPP's statseg size is a few
// MiB to a few GiB; anything larger is not a stats segment.
const maxSegmentSize = 1 << 40

// Connect asks VPP's stats socket for the segment and maps it read-only.
// timeout bounds the whole exchange. An error wraps ErrGone when nothing
// listens on the socket, ErrNoAnswer when VPP did not answer in time.
func Connect(socketPath string, timeout time.Duration) (*Reader, error) {
	// The socket's identity is taken before connecting: should VPP restart
	// in between, the reader then sees a replaced socket, never the reverse.
	socket, _ := fileKeyOf(socketPath)
	fd, err := receiveSegmentFd(socketPath, timeout)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stats socket %s: cannot stat the segment VPP sent: %w", socketPath, err)
	}
	if st.Size < headerSize || st.Size > maxSegmentSize {
		return nil, fmt.Errorf("stats socket %s: the file VPP sent has %d bytes, not a stats segment", socketPath, st.Size)
	}
	data, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("stats socket %s: cannot map the segment: %w", socketPath, err)
	}
	var conn *connInfo // set below; closing the reader drops its probe
	r, err := newReader(data, socketPath, func() error {
		conn.dropPending()
		return unix.Munmap(data)
	})
	if err != nil {
		return nil, err
	}
	r.conn = connInfo{socket: socket, segment: keyOf(&st), pending: -1}
	conn = &r.conn
	return r, nil
}

// fileKey identifies a file: its device and inode, compared as a pair.
type fileKey struct{ dev, ino uint64 }

func keyOf(st *unix.Stat_t) fileKey { return fileKey{dev: st.Dev, ino: st.Ino} }

func fileKeyOf(path string) (fileKey, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileKey{}, err
	}
	return keyOf(&st), nil
}

// connInfo is what Connect saw: the socket file, and the segment VPP sent.
// Both are zero for a reader of a file.
type connInfo struct {
	socket, segment fileKey
	// pending is a probe's connection VPP has not answered yet (-1: none).
	// The next probe waits on it rather than queueing another one: a
	// stopped VPP then has one connection waiting, not one per scrape, and
	// answers it on a live socket when it resumes (VPP logs "sendmsg:
	// Broken pipe" for each connection closed before it answered).
	pending int
}

func (c *connInfo) dropPending() {
	if c != nil && c.pending >= 0 {
		unix.Close(c.pending)
		c.pending = -1
	}
}

// SocketReplaced reports whether the stats socket the reader connected to is
// gone or is another file now. It is a cheap hint only: a VPP killed with
// SIGKILL leaves its socket behind, and on a disk filesystem the restarted
// VPP's socket often gets the same inode. Probe is the reliable test.
// Readers of files always report false.
func (r *Reader) SocketReplaced() bool {
	if r.conn.socket == (fileKey{}) {
		return false
	}
	id, err := fileKeyOf(r.source)
	return err != nil || id != r.conn.socket
}

// Liveness is what VPP's stats socket says about the segment a reader maps.
type Liveness int

const (
	// Alive: VPP sent the very segment the reader maps.
	Alive Liveness = iota
	// Restarted: VPP sent another segment; the mapped one is a dead VPP's.
	Restarted
	// Gone: nothing listens on the socket (no file, or the connection is
	// refused): VPP is not running.
	Gone
	// NoAnswer: VPP took the connection but sent nothing in time: its main
	// thread is stopped (SIGSTOP, a debugger) or busy.
	NoAnswer
	// Failed: anything else (permissions, not a stats socket, ...).
	Failed
)

func (l Liveness) String() string {
	return [...]string{"alive", "restarted", "gone", "no answer", "failed"}[l]
}

// ErrGone and ErrNoAnswer classify the errors of Connect and Probe.
var (
	ErrGone     = errors.New("VPP is not running")
	ErrNoAnswer = errors.New("VPP does not answer")
)

// Probe asks the stats socket for its segment, as Connect does, and
// compares the file VPP sends with the one the reader maps, without
// mapping it. VPP's main thread serves it with one accept, one sendmsg and
// one close; timeout bounds the wait for that. The error says why for
// every result but Alive and Restarted. A reader of a file has no VPP
// behind it and is always Alive.
//
// Probe takes turns with reads and Close (a probe of a closed reader
// returns Failed and an error wrapping os.ErrClosed): it may keep the
// connection of an unanswered probe for the next one, which Close closes.
func (r *Reader) Probe(timeout time.Duration) (Liveness, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Failed, r.errClosed()
	}
	return r.probe(timeout)
}

func (r *Reader) probe(timeout time.Duration) (Liveness, error) {
	if r.conn.segment == (fileKey{}) {
		return Alive, nil
	}
	sock, waited := r.conn.pending, r.conn.pending >= 0
	r.conn.pending = -1
	if !waited {
		var err error
		if sock, err = dialStats(r.source, timeout); err != nil {
			return ClassifyError(err), err
		}
	}
	fd, err := recvSegmentFd(sock, r.source, timeout)
	if errors.Is(err, ErrNoAnswer) {
		r.conn.pending = sock
		return NoAnswer, err
	}
	unix.Close(sock)
	if err != nil && waited {
		// VPP closed the connection it never answered: it died while
		// stopped. Ask whatever listens now.
		return r.probe(timeout)
	}
	if err != nil {
		return ClassifyError(err), err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Failed, fmt.Errorf("stats socket %s: cannot stat the segment VPP sent: %w", r.source, err)
	}
	if keyOf(&st) != r.conn.segment {
		return Restarted, nil
	}
	return Alive, nil
}

// ClassifyError tells, from an error of Connect or Probe, whether VPP is
// gone, not answering, or something else is wrong.
func ClassifyError(err error) Liveness {
	switch {
	case err == nil:
		return Alive
	case errors.Is(err, ErrGone):
		return Gone
	case errors.Is(err, ErrNoAnswer):
		return NoAnswer
	}
	return Failed
}

// receiveSegmentFd connects to the SEQPACKET socket and receives the one
// file descriptor VPP sends in SCM_RIGHTS. Go's net package would read the
// zero-byte message as EOF, hence the raw socket.
func receiveSegmentFd(socketPath string, timeout time.Duration) (int, error) {
	sock, err := dialStats(socketPath, timeout)
	if err != nil {
		return -1, err
	}
	defer unix.Close(sock)
	return recvSegmentFd(sock, socketPath, timeout)
}

// dialStats connects a SEQPACKET socket to the stats socket; timeout bounds
// the connect (a stopped VPP's full backlog makes it wait).
func dialStats(socketPath string, timeout time.Duration) (int, error) {
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("stats socket %s: %w", socketPath, err)
	}
	if timeout > 0 {
		tv := unix.NsecToTimeval(timeout.Nanoseconds())
		_ = unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	}
	retried := false
	err = retryEINTR(func() error {
		err := unix.Connect(sock, &unix.SockaddrUnix{Name: socketPath})
		if retried && errors.Is(err, unix.EISCONN) {
			return nil // the interrupted attempt went through
		}
		retried = true
		return err
	})
	if err != nil {
		unix.Close(sock)
		return -1, connectError(socketPath, err)
	}
	return sock, nil
}

// recvSegmentFd receives the file descriptor VPP sends on a connection,
// waiting at most timeout (0: no bound).
func recvSegmentFd(sock int, socketPath string, timeout time.Duration) (int, error) {
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	_ = unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	buf := make([]byte, 64)
	oob := make([]byte, unix.CmsgSpace(4*4))
	var oobn int
	err := retryEINTR(func() (err error) {
		_, oobn, _, _, err = unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
		return err
	})
	if err != nil {
		if errors.Is(err, unix.EAGAIN) {
			return -1, fmt.Errorf("stats socket %s: %w: no segment received within %v: VPP's main thread is stopped or busy, or this is not its stats socket (statseg { socket-name }) but e.g. its API socket", socketPath, ErrNoAnswer, timeout)
		}
		return -1, fmt.Errorf("stats socket %s: receiving the segment: %w", socketPath, err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return -1, fmt.Errorf("stats socket %s: bad control message: %w", socketPath, err)
	}
	fd := -1
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, f := range fds {
			if fd < 0 {
				fd = f
			} else {
				unix.Close(f) // VPP sends one; never leak extras
			}
		}
	}
	if fd < 0 {
		return -1, fmt.Errorf("stats socket %s: the peer sent no file descriptor: is it VPP's stats socket (statseg { socket-name })?", socketPath)
	}
	return fd, nil
}

// retryEINTR retries a raw system call that a signal interrupted (the Go
// runtime preempts goroutines with signals).
func retryEINTR(call func() error) error {
	for {
		if err := call(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// connectError turns connect's errno into what an operator should check.
func connectError(path string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("stats socket %s does not exist: is VPP running, and does `statseg { socket-name %s }` in its startup.conf name this path? (%w: %w)", path, path, ErrGone, err)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("permission denied on stats socket %s: run as a user that may write to it (root, or the group that owns it, often `vpp`) (%w)", path, err)
	case errors.Is(err, unix.ECONNREFUSED):
		return fmt.Errorf("stats socket %s refused the connection: the file is there but VPP is not listening (VPP stopped or restarting?) (%w: %w)", path, ErrGone, err)
	case errors.Is(err, unix.EAGAIN):
		// connect on a unix socket whose backlog VPP does not drain
		return fmt.Errorf("stats socket %s: %w: VPP accepts no connection (its main thread is stopped or busy) (%w)", path, ErrNoAnswer, err)
	case errors.Is(err, unix.EPROTOTYPE), errors.Is(err, unix.ENOTSOCK):
		return fmt.Errorf("%s is not a SEQPACKET stats socket: point socket_path at VPP's `statseg { socket-name }` (%w)", path, err)
	}
	return fmt.Errorf("stats socket %s: %w", path, err)
}

// OpenFile reads a segment saved in a file (plain, or gzip when the name
// ends in .gz), such as the captures in testdata or `vppstat capture`.
func OpenFile(path string) (*Reader, error) {
	data, err := layout.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return newReader(data, path, nil)
}
