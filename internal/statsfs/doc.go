// Package statsfs shows VPP's statistics segment as a read-only FUSE
// filesystem, like /proc: the stat path tree becomes directories, and each
// stat a read-only regular file whose content is its value when it is
// opened.
//
// The file layout, name escaping, file formats and semantics (reads,
// directory changes, VPP restarts, errors) are described once, in
// docs/vppstatsfs.md at the repository root; the tests check the formats
// against VPP's own dumps. In the code: names.go maps stat names to paths
// (StatPath, StatName), tree.go lays out the directories, render.go writes
// the file contents, source.go reads the segment and follows VPP, fs.go
// serves it all through go-fuse.
package statsfs
