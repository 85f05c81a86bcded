package statsfs

import (
	"os"
	"os/exec"
)

// Unavailable says why FUSE cannot be mounted on this machine, or "" when
// it can: the kernel device, and the fusermount helper go-fuse mounts with
// unless it runs as root (which mounts with mount(2) itself).
func Unavailable() string {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return "no /dev/fuse (load the fuse module, or give the container the device)"
	}
	if os.Geteuid() == 0 {
		return ""
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		if _, err := exec.LookPath("fusermount"); err != nil {
			return "no fusermount3 or fusermount in PATH (Debian/Ubuntu: apt-get install fuse3)"
		}
	}
	return ""
}
