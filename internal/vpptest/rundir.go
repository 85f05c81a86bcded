package vpptest

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// makeRun creates the RUN directory on the filesystem the options ask for.
// Its path stays short: a unix socket path has at most 107 bytes.
func (v *VPP) makeRun() error {
	if os.Geteuid() != 0 {
		return errNotRoot
	}
	base := os.TempDir()
	if v.opts.RunFS == DiskFS {
		var err error
		if base, err = diskDir(); err != nil {
			return err
		}
	}
	run, err := os.MkdirTemp(base, "vpp")
	if err != nil {
		return fmt.Errorf("VPP RUN directory: %w", err)
	}
	v.Run = run
	v.cleanup = append(v.cleanup, func() { _ = os.RemoveAll(run) })
	if v.opts.RunFS == TmpFS {
		if err := unix.Mount("vpptest", run, "tmpfs", 0, "size=16m,mode=0755"); err != nil {
			return fmt.Errorf("mount -t tmpfs on %s: %w (needs CAP_SYS_ADMIN)", run, err)
		}
		v.cleanup = append(v.cleanup, func() { _ = unix.Unmount(run, unix.MNT_DETACH) })
	}
	if got := isTmpfs(run); got != (v.opts.RunFS == TmpFS) && v.opts.RunFS != TempFS {
		return fmt.Errorf("RUN directory %s: wanted %v, tmpfs is %v", run, v.opts.RunFS, got)
	}
	return nil
}

// diskDir is a temporary directory on a disk-backed filesystem: /tmp is a
// tmpfs on many systems (Debian 13 among them), /var/tmp rarely is.
func diskDir() (string, error) {
	candidates := []string{os.TempDir(), "/var/tmp"}
	if root, err := repoRoot(); err == nil {
		candidates = append(candidates, filepath.Join(root, "build"))
	}
	for _, dir := range candidates {
		if err := os.MkdirAll(dir, 0o755); err == nil && !isTmpfs(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no disk-backed directory among %v", candidates)
}

func isTmpfs(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC
}

