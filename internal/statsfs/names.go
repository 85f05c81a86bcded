package statsfs

import (
	"strings"
)

// Stat names become paths by splitting them at '/' and escaping each
// component, so that every file name is legal and the mapping can be undone:
//
//   - '%', '/', control bytes (< 0x20, 0x7f) are written as %XX (upper-case
//     hex), and so is a leading '.', so that no stat can be called "." or
//     ".." or clash with the ".value" file this package adds;
//   - spaces and any other byte, UTF-8 included, are kept as they are.
//
// A stat name is split at every '/' except:
//   - under /err, where /err/<node>/<reason> keeps the reason whole (VPP's
//     error reasons contain '/', e.g. "unknown llc ssap/dsap");
//   - where a split would leave an empty component ("//", a trailing '/'):
//     that '/' stays inside the component, escaped.
//
// Joining the unescaped components with '/' (after a leading '/') gives the
// stat name back. Names that do not start with '/' are not shown.

// valueFile holds the value of a stat whose path is also a directory, such
// as /mem/stat segment (a vector) beside /mem/stat segment/used (a symlink).
const valueFile = ".value"

// statComponents returns the unescaped path components of a stat name, or
// nil when the name cannot be shown.
func statComponents(name string) []string {
	if len(name) < 2 || name[0] != '/' {
		return nil
	}
	var out []string
	for _, p := range strings.Split(name[1:], "/") {
		n := len(out)
		if n > 0 && (p == "" || out[n-1] == "") {
			out[n-1] += "/" + p
			continue
		}
		out = append(out, p)
	}
	if out[0] == "err" && len(out) > 3 {
		out = append(out[:2], strings.Join(out[2:], "/"))
	}
	return out
}

// StatPath returns the path, relative to the mount point, at which the stat
// called name is shown if it is a file, or "" when it is not shown. (A stat
// that is also a directory prefix is shown as StatPath(name)+"/.value".)
func StatPath(name string) string {
	comps := statComponents(name)
	if comps == nil {
		return ""
	}
	for i, c := range comps {
		comps[i] = Escape(c)
	}
	return strings.Join(comps, "/")
}

// StatName undoes StatPath: it returns the stat name shown at path (relative
// to the mount point; a trailing "/.value" is dropped).
func StatName(path string) string {
	path = strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/"+valueFile)
	comps := strings.Split(path, "/")
	for i, c := range comps {
		comps[i] = Unescape(c)
	}
	return "/" + strings.Join(comps, "/")
}

const hexDigits = "0123456789ABCDEF"

// Escape makes one path component a legal, unambiguous file name.
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c == '/' || c < 0x20 || c == 0x7f || (i == 0 && c == '.') {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Unescape undoes Escape (and escapeText). A '%' not followed by two hex
// digits is kept as it is.
func Unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// escapeText prepares a name for a line of file content: '%' and control
// bytes become %XX so that a name never breaks a line; everything else,
// spaces and '/' included, is kept.
func escapeText(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '%' || c < 0x20 || c == 0x7f {
			return escapeTextSlow(s)
		}
	}
	return s
}

func escapeTextSlow(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c < 0x20 || c == 0x7f {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
