package vppapi

import "golang.org/x/sys/unix"

// socketIdentity identifies the socket file at path (0 when there is none).
// VPP leaves its API socket file behind when it stops and creates a new one
// when it starts; a file system may hand the new file the old inode number,
// so the change time is part of the identity.
func socketIdentity(path string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0
	}
	id := uint64(st.Dev)<<48 ^ st.Ino<<20 ^ uint64(st.Ctim.Sec)*1_000_000_007 ^ uint64(st.Ctim.Nsec)
	if id == 0 {
		id = 1
	}
	return id
}
