package statsfs

import (
	"slices"
	"strings"

	"github.com/vppstats/vppstats/internal/statseg"
)

// maxNameLen is the longest file name Linux accepts.
const maxNameLen = 255

// tree is the directory layout of the filesystem for one resolved stats
// directory. It holds names only: values are read, by stat name, when a
// file is opened.
type tree struct {
	dir     *statseg.Dir
	folders map[string]*folder // by path ("" is the root)
	labels  map[string][]string
	skipped []string // stats that cannot be shown (unusable names)
}

// folder is one directory of the tree.
type folder struct {
	names []string // sorted
	kids  map[string]kid
}

// kid is an entry of a folder: a subdirectory, or the file of a stat.
type kid struct {
	dir  bool
	stat string // the stat's name (files only)
}

// buildTree lays out the stats of d as directories and files.
func buildTree(d *statseg.Dir) *tree {
	t := &tree{dir: d, folders: map[string]*folder{"": {kids: map[string]kid{}}}}
	files := map[string]string{} // path -> stat name
	for i := range d.Entries {
		e := &d.Entries[i]
		if e.Type == statseg.TypeEmpty {
			continue
		}
		p, ok := filePath(e.Name)
		if !ok {
			t.skipped = append(t.skipped, e.Name)
			continue
		}
		files[p] = e.Name
		for j := strings.IndexByte(p, '/'); j >= 0; j = nextSlash(p, j) {
			t.addFolder(p[:j])
		}
	}
	for p, stat := range files {
		if _, isDir := t.folders[p]; isDir {
			p += "/" + valueFile
		}
		parent, base := splitPath(p)
		t.folders[parent].add(base, kid{stat: stat})
	}
	for _, f := range t.folders {
		slices.Sort(f.names)
	}
	t.labels = columnLabels(d)
	return t
}

func nextSlash(p string, j int) int {
	k := strings.IndexByte(p[j+1:], '/')
	if k < 0 {
		return -1
	}
	return j + 1 + k
}

// filePath returns the escaped path of a stat, and false when a component
// would be too long to be a file name.
func filePath(name string) (string, bool) {
	p := StatPath(name)
	if p == "" {
		return "", false
	}
	for _, c := range strings.Split(p, "/") {
		if len(c) > maxNameLen {
			return "", false
		}
	}
	return p, true
}

// addFolder creates the folder at path p and links it into its parent.
func (t *tree) addFolder(p string) {
	if _, ok := t.folders[p]; ok {
		return
	}
	t.folders[p] = &folder{kids: map[string]kid{}}
	parent, base := splitPath(p)
	t.addFolder(parent)
	t.folders[parent].add(base, kid{dir: true})
}

func (f *folder) add(name string, k kid) {
	if _, ok := f.kids[name]; !ok {
		f.names = append(f.names, name)
	}
	f.kids[name] = k
}

// splitPath splits an escaped path into its parent and last component.
func splitPath(p string) (parent, base string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// joinPath appends a component to an escaped path.
func joinPath(parent, base string) string {
	if parent == "" {
		return base
	}
	return parent + "/" + base
}

// columnLabels names the columns (object indexes) of counter vectors:
//   - from a name vector called "names" beside the vector (/if/names for
//     /if/rx, /sys/node/names for /sys/node/clocks);
//   - otherwise from the symlinks that point into it: /err/ip4-input/no
//     buffers names a column of /node/errors "ip4-input/no buffers", and
//     /mem/main heap/used names a column of /mem/main heap "used".
func columnLabels(d *statseg.Dir) map[string][]string {
	labels := map[string][]string{}
	for i := range d.Entries {
		e := &d.Entries[i]
		if e.Type != statseg.TypeSymlink || e.Err != nil || e.Target < 0 || e.Target >= len(d.Entries) {
			continue
		}
		target := &d.Entries[e.Target]
		l := labels[target.Name]
		for len(l) <= e.Column {
			l = append(l, "")
		}
		l[e.Column] = symlinkLabel(e.Name, target.Name)
		labels[target.Name] = l
	}
	for i := range d.Entries {
		e := &d.Entries[i]
		if e.Type != statseg.TypeCounterSimple && e.Type != statseg.TypeCounterCombined {
			continue
		}
		parent, _ := splitPath(e.Name)
		if nv, ok := d.Lookup(parent + "/names"); ok && nv.Type == statseg.TypeNameVector && nv.Err == nil {
			labels[e.Name] = nameLabels(nv)
		}
	}
	return labels
}

// nameLabels returns the names of a name vector, "" for NULL slots.
func nameLabels(nv *statseg.Entry) []string {
	l := make([]string, len(nv.Names))
	for k, n := range nv.Names {
		if nv.NullNames == nil || !nv.NullNames[k] {
			l[k] = n
		}
	}
	return l
}

// symlinkLabel is what a symlink's name says about the column it points to:
// the part after the target's own name, or else the name without its first
// component and without a last component repeating the target's.
func symlinkLabel(sym, target string) string {
	if rest, ok := strings.CutPrefix(sym, target+"/"); ok {
		return rest
	}
	comps := statComponents(sym)
	if len(comps) < 2 {
		return sym
	}
	comps = comps[1:]
	_, last := splitPath(target)
	if len(comps) > 1 && comps[len(comps)-1] == last {
		comps = comps[:len(comps)-1]
	}
	return strings.Join(comps, "/")
}
