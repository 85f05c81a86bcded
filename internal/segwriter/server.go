package segwriter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vppstats/vppstats/internal/statseg/layout"
)

// Server hands a stats segment to clients the way VPP's stats socket does:
// a SOCK_SEQPACKET unix socket that, for every connection, sends one message
// with no payload and the segment's memfd in SCM_RIGHTS, then hangs up.
//
// The served fd can be swapped at runtime (SetFd) to play a VPP that came
// back with a new segment; a restart that also recreates the socket file is
// played by closing the Server and starting a new one on the same path.
type Server struct {
	path string
	ln   *net.UnixListener
	done chan struct{}

	mu     sync.Mutex // guards fd against SetFd and Close during a send
	fd     int        // our own duplicate of the served memfd
	closed bool
}

// NewServer listens on socketPath and serves fd, which it duplicates: the
// caller keeps ownership of fd (typically Writer.Fd()).
//
// A stale socket file left by a dead server is replaced, as VPP does; a
// socket with a live server behind it, or a file that is not a socket, is
// an error.
func NewServer(socketPath string, fd int) (*Server, error) {
	own, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("segwriter: server: duplicating fd %d: %w", fd, err)
	}
	ln, err := listenSeqpacket(socketPath)
	if err != nil {
		unix.Close(own)
		return nil, err
	}
	s := &Server{path: socketPath, ln: ln, fd: own, done: make(chan struct{})}
	go s.acceptLoop()
	return s, nil
}

// ServeFile serves a segment saved in a file (plain, or gzip if its name
// ends in .gz), such as a capture, from a fresh sealed memfd that clients
// can map but nobody can modify.
func ServeFile(socketPath, segmentPath string) (*Server, error) {
	fd, err := loadSegment(segmentPath)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return NewServer(socketPath, fd)
}

// Path returns the socket path.
func (s *Server) Path() string { return s.path }

// SetFd makes the server hand out fd (duplicated) from now on; connections
// already answered keep the old segment, like clients of a restarted VPP.
func (s *Server) SetFd(fd int) error {
	own, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("segwriter: server: duplicating fd %d: %w", fd, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		unix.Close(own)
		return errors.New("segwriter: server: closed")
	}
	unix.Close(s.fd)
	s.fd = own
	return nil
}

// Close stops serving, waits for the accept loop to end and removes the
// socket file.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	err := s.ln.Close() // unlinks the socket file
	<-s.done
	s.mu.Lock()
	unix.Close(s.fd)
	s.fd = -1
	s.mu.Unlock()
	return err
}

func (s *Server) acceptLoop() {
	defer close(s.done)
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of fds and the like: back off rather than spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.answer(c)
	}
}

// answer sends the segment fd on c and closes it. Errors only concern that
// one client (which may have gone away already), so they are dropped.
func (s *Server) answer(c *net.UnixConn) {
	defer c.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	var sendErr error
	_ = rc.Write(func(sock uintptr) bool {
		sendErr = sendFd(sock, s.fd)
		return !errors.Is(sendErr, unix.EAGAIN)
	})
}

// sendFd sends a message with no payload and fd in SCM_RIGHTS. It calls
// sendmsg directly because unix.Sendmsg adds a dummy payload byte on
// SEQPACKET sockets when the payload is empty, and VPP sends none.
func sendFd(sock uintptr, fd int) error {
	oob := unix.UnixRights(fd)
	var msg unix.Msghdr
	msg.Control = &oob[0]
	msg.SetControllen(len(oob))
	_, _, errno := unix.Syscall(unix.SYS_SENDMSG, sock, uintptr(unsafe.Pointer(&msg)), unix.MSG_NOSIGNAL)
	if errno != 0 {
		return errno
	}
	return nil
}

// listenSeqpacket binds a SEQPACKET listener at path, with clear errors for
// the usual mistakes.
func listenSeqpacket(path string) (*net.UnixListener, error) {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("segwriter: server: socket directory %s: %w", dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("segwriter: server: socket directory %s is not a directory", dir)
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("segwriter: server: %s exists and is not a socket; not replacing it", path)
		}
		if c, err := net.DialTimeout("unixpacket", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("segwriter: server: socket %s is in use by a running server", path)
		}
		// Nobody answers: a stale socket from a server that died.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("segwriter: server: removing stale socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("segwriter: server: %w", err)
	}
	return ln, nil
}

// loadSegment copies a segment file (plain, or gzip if its name ends in
// .gz) into a new memfd sealed against any change, and returns the fd.
func loadSegment(path string) (int, error) {
	data, err := layout.ReadFile(path)
	if err != nil {
		return -1, err
	}
	return segmentMemfd(data)
}

// segmentMemfd copies a segment held in memory into a new sealed memfd.
func segmentMemfd(data []byte) (int, error) {
	fd, err := filledMemfd(data)
	if err != nil {
		return -1, err
	}
	const seals = unix.F_SEAL_WRITE | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("segwriter: sealing memfd: %w", err)
	}
	return fd, nil
}

// filledMemfd checks that data starts with a segment header of today's
// layout and copies it into a new memfd that can still be sealed.
func filledMemfd(data []byte) (int, error) {
	if len(data) < layout.HeaderSize {
		return -1, fmt.Errorf("segwriter: segment of %d bytes is shorter than its header", len(data))
	}
	if v := binary.LittleEndian.Uint64(data[layout.HeaderVersion:]); v != layout.SegmentVersion {
		return -1, fmt.Errorf("segwriter: segment version %d, want %d", v, layout.SegmentVersion)
	}
	fd, err := unix.MemfdCreate("vpp stats segment (replay)", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("segwriter: memfd_create: %w", err)
	}
	for rest := data; len(rest) > 0; {
		n, err := unix.Write(fd, rest)
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("segwriter: filling memfd: %w", err)
		}
		rest = rest[n:]
	}
	return fd, nil
}
