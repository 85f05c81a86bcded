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
// timeout bounds the whole exchange.
func Connect(socketPath string, timeout time.Duration) (*Reader, error) {
	// The socket's identity is taken before connecting: should VPP restart
	// in between, the reader then sees a replaced socket, never the reverse.
	socketID, _ := fileID(socketPath)
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
	r, err := newReader(data, socketPath, func() error { return unix.Munmap(data) })
	if err != nil {
		return nil, err
	}
	r.socketID = socketID
	return r, nil
}

// fileID identifies the file at path. A restarted VPP binds a new socket
// file, and serves a new segment on it.
func fileID(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Dev<<32 ^ st.Ino, nil
}

// SocketIdentity identifies the file at path (0 if there is none), to tell
// whether a stats socket is still the one seen before.
func SocketIdentity(path string) uint64 {
	id, err := fileID(path)
	if err != nil {
		return 0
	}
	return id
}

// SocketReplaced reports whether the stats socket the reader connected to is
// gone or is another file now: VPP restarted (or stopped), and the segment
// this reader maps is frozen. Readers of files always report false.
func (r *Reader) SocketReplaced() bool {
	if r.socketID == 0 {
		return false
	}
	id, err := fileID(r.source)
	return err != nil || id != r.socketID
}

// receiveSegmentFd connects to the SEQPACKET socket and receives the one
// file descriptor VPP sends in SCM_RIGHTS. Go's net package would read the
// zero-byte message as EOF, hence the raw socket.
func receiveSegmentFd(socketPath string, timeout time.Duration) (int, error) {
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("stats socket %s: %w", socketPath, err)
	}
	defer unix.Close(sock)
	if timeout > 0 {
		tv := unix.NsecToTimeval(timeout.Nanoseconds())
		_ = unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
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
		return -1, connectError(socketPath, err)
	}
	buf := make([]byte, 64)
	oob := make([]byte, unix.CmsgSpace(4*4))
	var oobn int
	err = retryEINTR(func() (err error) {
		_, oobn, _, _, err = unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
		return err
	})
	if err != nil {
		if errors.Is(err, unix.EAGAIN) {
			return -1, fmt.Errorf("stats socket %s: no segment received within %v: is it VPP's stats socket (statseg { socket-name }) and not its API socket?", socketPath, timeout)
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
		return fmt.Errorf("stats socket %s does not exist: is VPP running, and does `statseg { socket-name %s }` in its startup.conf name this path? (%w)", path, path, err)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("permission denied on stats socket %s: run as a user that may write to it (root, or the group that owns it, often `vpp`) (%w)", path, err)
	case errors.Is(err, unix.ECONNREFUSED):
		return fmt.Errorf("stats socket %s refused the connection: the file is there but VPP is not listening (VPP stopped or restarting?) (%w)", path, err)
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
