package statsfs

import (
	"context"
	"hash/fnv"
	"io"
	"log"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Config says what to mount and how.
type Config struct {
	// Open opens the stats source (required).
	Open Opener
	// Source names it in /proc/mounts (e.g. the socket path).
	Source string
	// AllowOther lets users other than the one mounting read the tree
	// (needs user_allow_other in /etc/fuse.conf unless mounting as root).
	AllowOther bool
	// Debug logs every FUSE request.
	Debug bool
	// Timeout is how long the kernel may cache names and attributes
	// (default 1s): the tree follows VPP's directory within that time.
	Timeout time.Duration
	// Logger receives problems with the source (default: log.Default()).
	Logger *log.Logger
}

// Server is a mounted stats filesystem.
type Server struct {
	*fuse.Server
	src *source
}

// Unmount unmounts the filesystem and releases the stats source. It fails
// (and leaves everything mounted) while a process uses the mount.
func (s *Server) Unmount() error {
	if err := s.Server.Unmount(); err != nil {
		return err
	}
	s.src.close()
	return nil
}

// Mount mounts the stats filesystem read-only at mountpoint and serves it
// in the background; Wait blocks until it is unmounted.
func Mount(mountpoint string, cfg Config) (*Server, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = log.Default()
	}
	src := newSource(cfg.Open, cfg.Logger)
	root := &dirNode{src: src, started: time.Now()}
	timeout := cfg.Timeout
	opts := &fs.Options{
		MountOptions: fuse.MountOptions{
			AllowOther: cfg.AllowOther,
			FsName:     cfg.Source,
			Name:       "vppstatsfs",
			Options:    []string{"ro", "default_permissions"},
			Debug:      cfg.Debug,
			// Root needs no fusermount (often not installed in
			// containers); go-fuse falls back to it if mount(2) fails.
			DirectMount: os.Geteuid() == 0,
		},
		EntryTimeout:    &timeout,
		AttrTimeout:     &timeout,
		NegativeTimeout: &timeout,
		Logger:          cfg.Logger,
	}
	srv, err := fs.Mount(mountpoint, root, opts)
	if err != nil {
		return nil, err
	}
	return &Server{Server: srv, src: src}, nil
}

// dirNode is a directory: a prefix of stat names.
type dirNode struct {
	fs.Inode
	src     *source
	path    string // escaped path from the root, "" for the root
	started time.Time
}

var (
	_ fs.NodeLookuper  = (*dirNode)(nil)
	_ fs.NodeReaddirer = (*dirNode)(nil)
	_ fs.NodeGetattrer = (*dirNode)(nil)
	_ fs.NodeOpener    = (*fileNode)(nil)
	_ fs.NodeGetattrer = (*fileNode)(nil)
	_ fs.FileReader    = (*handle)(nil)
	_ fs.FileGetattrer = (*handle)(nil)
	_ fs.NodeStatfser  = (*dirNode)(nil)
	_ fs.NodeOnAdder   = (*dirNode)(nil)
	_ fs.InodeEmbedder = (*fileNode)(nil)
)

// OnAdd does nothing: children are made on lookup.
func (d *dirNode) OnAdd(context.Context) {}

// folder returns the directory's listing now.
func (d *dirNode) folder() (*tree, *folder, syscall.Errno) {
	t, err := d.src.current()
	if err != nil {
		return nil, nil, errno(err)
	}
	f, ok := t.folders[d.path]
	if !ok {
		return nil, nil, syscall.ENOENT // gone with an epoch change
	}
	return t, f, 0
}

func (d *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	_, f, e := d.folder()
	if e != 0 {
		return nil, e
	}
	k, ok := f.kids[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	if k.dir {
		child := &dirNode{src: d.src, path: joinPath(d.path, name), started: d.started}
		child.fill(&out.Attr)
		return d.NewInode(ctx, child, fs.StableAttr{Mode: fuse.S_IFDIR, Ino: inode('d', child.path)}), 0
	}
	child := &fileNode{src: d.src, stat: k.stat}
	child.fill(&out.Attr, 0)
	return d.NewInode(ctx, child, fs.StableAttr{Mode: fuse.S_IFREG, Ino: inode('f', k.stat)}), 0
}

func (d *dirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	_, f, e := d.folder()
	if e != 0 {
		return nil, e
	}
	list := make([]fuse.DirEntry, 0, len(f.names))
	for _, n := range f.names {
		k := f.kids[n]
		if k.dir {
			list = append(list, fuse.DirEntry{Name: n, Mode: fuse.S_IFDIR, Ino: inode('d', joinPath(d.path, n))})
		} else {
			list = append(list, fuse.DirEntry{Name: n, Mode: fuse.S_IFREG, Ino: inode('f', k.stat)})
		}
	}
	return fs.NewListDirStream(list), 0
}

func (d *dirNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.fill(&out.Attr)
	return 0
}

func (d *dirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	out.NameLen = maxNameLen
	out.Bsize = 4096
	return 0
}

func (d *dirNode) fill(a *fuse.Attr) {
	a.Mode = fuse.S_IFDIR | 0o555
	a.Nlink = 2
	a.SetTimes(nil, &d.started, &d.started)
}

// fileNode is the file of one stat. It knows the stat by name only: a
// directory change that moves or removes the stat cannot make it show
// another stat's values.
type fileNode struct {
	fs.Inode
	src  *source
	stat string
}

func (f *fileNode) fill(a *fuse.Attr, size int) {
	now := time.Now()
	a.Mode = fuse.S_IFREG | 0o444
	a.Nlink = 1
	a.Size = uint64(size)
	a.SetTimes(nil, &now, &now)
}

// Getattr reports size 0, as /proc does, unless asked about an open file:
// then it reports the size of what that handle serves. Reads are direct
// I/O, so the size never limits them.
func (f *fileNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if h, ok := fh.(*handle); ok {
		return h.Getattr(ctx, out)
	}
	f.fill(&out.Attr, 0)
	return 0
}

// Open reads the stat now; the handle serves that snapshot.
func (f *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EROFS
	}
	data, err := f.src.read(f.stat)
	if err != nil {
		return nil, 0, errno(err)
	}
	return &handle{node: f, data: data, fresh: true}, fuse.FOPEN_DIRECT_IO, 0
}

// handle is an open stat file. It serves the value read at open; a read
// from offset 0 after the first one reads the stat again (like a seq_file
// in /proc), so `lseek(0)` and read gives current data, or EIO when the stat
// is gone.
type handle struct {
	node  *fileNode
	mu    sync.Mutex
	data  []byte
	fresh bool // data not served yet
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if off == 0 && !h.fresh {
		data, err := h.node.src.read(h.node.stat)
		if err != nil {
			return nil, syscall.EIO // the stat is gone or the source is down
		}
		h.data = data
	}
	h.fresh = false
	if off >= int64(len(h.data)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), int64(len(h.data)))
	return fuse.ReadResultData(h.data[off:end]), 0
}

func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.node.fill(&out.Attr, len(h.data))
	return 0
}

// inode numbers a directory ('d', by path) or file ('f', by stat name) so
// that it keeps its number for as long as it exists.
func inode(kind byte, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte{kind})
	io.WriteString(h, key)
	n := h.Sum64() >> 1 // below go-fuse's automatic numbers (2^63 and up)
	if n < 2 {
		n += 2
	}
	return n
}
