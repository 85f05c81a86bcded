package statsfs

import (
	"errors"
	"fmt"
	"log"
	"sync"
	"syscall"
	"time"

	"github.com/vppstats/vppstats/internal/statseg"
)

// Opener returns a new reader of the stats segment: statseg.Connect for a
// socket, statseg.OpenFile for a saved segment. It is called again whenever
// the source must be reopened (VPP restarted, a read failed).
type Opener func() (*statseg.Reader, error)

// Reconnect backoff bounds.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// How often, and how patiently, the source asks VPP whether the segment it
// maps is still VPP's (statseg.Reader.Probe): a VPP killed and restarted
// can re-create its socket with the same inode, which SocketReplaced does
// not see, and its old segment would be served frozen. At most once a
// second, so a `grep -r` over the mount does not turn into one VPP
// round trip per file.
const (
	probeEvery   = time.Second
	probeTimeout = 100 * time.Millisecond
)

// errGone says that a stat that a handle shows no longer exists.
var errGone = errors.New("stat no longer exists")

// source owns the reader. Every use of it goes through mu: a statseg.Reader
// is not safe for concurrent use.
type source struct {
	open Opener
	log  *log.Logger

	mu      sync.Mutex
	r       *statseg.Reader
	val     statseg.Value // the value of the stat being opened
	tree    *tree
	checked time.Time // when tree was last found to be current
	down    error     // why the source is unusable; nil when up
	retry   time.Time // no new connection attempt before then
	backoff time.Duration
	probed  time.Time // when VPP was last asked for its segment
}

func newSource(open Opener, logger *log.Logger) *source {
	return &source{open: open, log: logger}
}

// current returns the tree of the directory as it is now.
func (s *source) current() (*tree, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.reader()
	if err != nil {
		return nil, err
	}
	if s.tree != nil && time.Since(s.checked) < treeFresh {
		return s.tree, nil
	}
	d, err := r.Directory()
	if err != nil {
		return nil, s.failed(err)
	}
	s.checked = time.Now()
	return s.treeOf(d), nil
}

// treeFresh is how long a tree found current is used without checking the
// directory again. Checking costs a pass over the whole directory (VPP
// adds symlinks without bumping the epoch), and `ls -l`, `find` or `grep
// -r` look up many names in a row; the kernel caches names for longer.
const treeFresh = 20 * time.Millisecond

// treeOf returns the tree of d, building it when d is new.
func (s *source) treeOf(d *statseg.Dir) *tree {
	if s.tree == nil || s.tree.dir != d {
		s.tree = buildTree(d)
		for _, name := range s.tree.skipped {
			s.log.Printf("stat %q cannot be shown as a file (name not starting with '/', or a component longer than %d bytes once escaped)", name, maxNameLen)
		}
	}
	return s.tree
}

// read returns the rendered value of the stat called name, read now. It
// reads that one entry, not the directory: opening a file costs the same
// with a hundred stats as with hundreds of thousands.
func (s *source) read(name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.reader()
	if err != nil {
		return nil, err
	}
	d, e, err := r.ReadEntry(name, &s.val)
	if err != nil {
		return nil, s.failed(err)
	}
	if e == nil || e.Type == statseg.TypeEmpty {
		return nil, errGone
	}
	if e.Err != nil {
		s.log.Printf("stat %s cannot be read: %v", name, e.Err)
		return nil, e.Err
	}
	return render(e, &s.val, s.treeOf(d).labels[name]), nil
}

// reader returns the open reader, reopening the source if VPP restarted or
// a read failed. While the source is down it fails fast, and tries again
// after a growing delay.
func (s *source) reader() (*statseg.Reader, error) {
	if s.r != nil && s.r.SocketReplaced() {
		s.drop(fmt.Errorf("%s: stats socket replaced or removed (VPP restarted or stopped)", s.r.Source()))
	}
	if s.r != nil && time.Since(s.probed) >= probeEvery {
		s.probed = time.Now()
		switch live, err := s.r.Probe(probeTimeout); live {
		case statseg.Gone:
			s.drop(err)
		case statseg.Restarted:
			s.drop(fmt.Errorf("%s: VPP restarted (its stats socket hands out another segment)", s.r.Source()))
		}
	}
	if s.r != nil {
		return s.r, nil
	}
	if time.Now().Before(s.retry) {
		return nil, s.down
	}
	r, err := s.open()
	if err != nil {
		s.backoff = min(max(2*s.backoff, minBackoff), maxBackoff)
		s.retry = time.Now().Add(s.backoff)
		s.down = err
		s.log.Printf("stats source unavailable, reads fail with EIO; next attempt in %v: %v", s.backoff, err)
		return nil, err
	}
	if s.down != nil {
		s.log.Printf("stats source %s is back", r.Source())
	}
	s.r, s.down, s.backoff = r, nil, 0
	s.val, s.tree = statseg.Value{}, nil
	return r, nil
}

// failed handles a failed read. ErrBusy is transient (VPP kept changing
// its directory); anything else means the mapping is no good, so the source
// is reopened at the next use.
func (s *source) failed(err error) error {
	if errors.Is(err, statseg.ErrBusy) {
		s.log.Printf("read abandoned: %v", err)
		return err
	}
	s.drop(err)
	return err
}

func (s *source) drop(why error) {
	s.log.Printf("dropping the stats segment: %v", why)
	s.r.Close()
	s.r, s.down = nil, why
	s.retry = time.Time{} // try again at once: VPP may be back already
}

// close releases the reader.
func (s *source) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r != nil {
		s.r.Close()
		s.r = nil
	}
}

// errno is the error a filesystem call returns for err.
func errno(err error) syscall.Errno {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errGone):
		return syscall.ENOENT
	case errors.Is(err, statseg.ErrBusy):
		return syscall.EAGAIN
	}
	return syscall.EIO
}
