// Package statsfs shows VPP's statistics segment as a read-only FUSE
// filesystem, like /proc: the stat path tree becomes directories, and each
// stat a read-only regular file whose content is its value.
//
// # Layout
//
// /if/rx is the file if/rx under the mount point, /interfaces/loop0/rx the
// file interfaces/loop0/rx, and so on. Names are mapped reversibly (see
// StatPath and StatName): '%', '/', control bytes and a leading '.' of a
// component are written %XX, everything else (spaces included) is kept.
// /err/<node>/<reason> keeps the reason in one file name, since reasons
// contain '/': /err/llc-input/unknown llc ssap/dsap is the file
// "err/llc-input/unknown llc ssap%2Fdsap".
//
// A stat whose path is also a directory (the vector /mem/stat segment beside
// the symlink /mem/stat segment/used) is the file ".value" in that
// directory: "mem/stat segment/.value".
//
// # Contents
//
// Every file ends with a newline. Vector files start with one header line
// beginning with "#"; the other lines have space-separated numbers first and
// a name last (names may contain spaces; '%' and control bytes in them are
// written %XX), so `awk '{print $2}'` and `grep loop0` both work.
//
//   - scalar, gauge: one integer, e.g. "1795476708". VPP's own reader
//     prints these "%.2f"; the u64 VPP stores has no fraction to show.
//   - simple counter vector (/if/drops, /node/errors, /sys/node/clocks...):
//     "# index thread0 thread1 ... total name", then one line per index.
//   - combined counter vector (/if/rx...): "# index thread0.packets
//     thread0.bytes thread1.packets thread1.bytes ... total.packets
//     total.bytes name".
//     The name column is there when the vector has names: from a name
//     vector "names" beside it (/if/names, /sys/node/names), or else from
//     the symlinks into it ("ip4-input/no buffers" for a column of
//     /node/errors). An index without a name shows "-"; a thread row
//     shorter than the others shows "-" in its cell.
//   - symlink to a counter (/interfaces/<if>/<ctr>, /nodes/<node>/<ctr>,
//     /err/<node>/<reason>, /mem/<heap>/<field>): the one column,
//     "# thread value" (or "# thread packets bytes"), one line per thread,
//     then "total ...".
//   - symlink to a scalar or name vector: as its target.
//   - name vector (/if/names): "# index name", one line per non-NULL slot.
//   - histogram_log2: "# bin thread0 ... total", the raw bins; bin 0 is each
//     thread's min_exp (its total is "-"), bin j counts the values v with
//     floor(log2 v) = min_exp+j-1.
//   - ring buffer: a comment saying it is not decoded.
//
// # Reads
//
// A file is read when it is opened, by stat name, in one consistent
// snapshot; the handle serves that snapshot. Reading from offset 0 again
// (after seeking back) reads the stat anew, as /proc's seq_files do. Files
// report size 0 to stat(2), like /proc (fstat of an open file reports the
// size of its snapshot); reads are direct I/O, so the size never limits
// them.
//
// The tree follows VPP's directory: every lookup and listing checks it (an
// epoch change, or symlinks VPP added without one) and rebuilds the tree
// when it changed; the kernel caches names for Config.Timeout only. A stat
// that is gone makes open fail with ENOENT, and a read of a handle opened
// before it went with EIO: a file never shows another stat's values.
//
// If VPP restarts (the socket file is replaced or removed) or a read fails,
// the segment is dropped and the source reopened on the next access; while
// that fails, calls fail with EIO at once, with a log line per attempt, and
// attempts back off from 100ms to 5s. A read abandoned because VPP kept
// changing its directory fails with EAGAIN.
package statsfs
