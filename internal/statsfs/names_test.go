package statsfs

import (
	"strings"
	"testing"

	"github.com/vppstats/vppstats/internal/statseg"
)

func TestStatPath(t *testing.T) {
	cases := []struct{ name, path string }{
		{"/if/rx", "if/rx"},
		{"/mem/stat segment", "mem/stat segment"},
		{"/err/llc-input/unknown llc ssap/dsap", "err/llc-input/unknown llc ssap%2Fdsap"},
		{"/err/ip6-pop-hop-by-hop/Pkts w/ removed ip6 hop-by-hop options", "err/ip6-pop-hop-by-hop/Pkts w%2F removed ip6 hop-by-hop options"},
		{"/err/x", "err/x"},
		{"/a/100%/b", "a/100%25/b"},
		{"/a/.value", "a/%2Evalue"},
		{"/a/..", "a/%2E."},
		{"/a/b.c", "a/b.c"},
		{"/a//b", "a%2F/b"},
		{"/a/", "a%2F"},
		{"/tab\there", "tab%09here"},
		{"/del\x7f", "del%7F"},
		{"/ünï/cödé", "ünï/cödé"},
		{"no-slash", ""},
		{"/", ""},
	}
	for _, c := range cases {
		if got := StatPath(c.name); got != c.path {
			t.Errorf("StatPath(%q) = %q, want %q", c.name, got, c.path)
		}
		if c.path == "" {
			continue
		}
		if back := StatName(c.path); back != c.name {
			t.Errorf("StatName(%q) = %q, want %q", c.path, back, c.name)
		}
		for _, comp := range strings.Split(c.path, "/") {
			if comp == "" || comp == "." || comp == ".." || comp == valueFile {
				t.Errorf("StatPath(%q) has component %q", c.name, comp)
			}
		}
	}
	if got := StatName("mem/stat segment/.value"); got != "/mem/stat segment" {
		t.Errorf("StatName of a .value file = %q", got)
	}
}

// Every byte string must survive the path mapping.
func FuzzStatPath(f *testing.F) {
	for _, s := range []string{"/if/rx", "/err/a/b/c", "/a//b/", "/%2F/.x", "/a/%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p := StatPath(name)
		if p == "" {
			return
		}
		if back := StatName(p); back != name {
			t.Fatalf("StatName(StatPath(%q)) = %q (path %q)", name, back, p)
		}
		for _, comp := range strings.Split(p, "/") {
			if comp == "" || strings.HasPrefix(comp, ".") || strings.ContainsRune(comp, 0) {
				t.Fatalf("StatPath(%q) = %q: bad component %q", name, p, comp)
			}
		}
	})
}

func TestEscapeText(t *testing.T) {
	for in, want := range map[string]string{
		"loop0":            "loop0",
		"no buffers/x y":   "no buffers/x y",
		"100%":             "100%25",
		"two\nlines":       "two%0Alines",
		"GigabitEthernet0": "GigabitEthernet0",
	} {
		got := escapeText(in)
		if got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
		if Unescape(got) != in {
			t.Errorf("Unescape(%q) = %q, want %q", got, Unescape(got), in)
		}
	}
}

func TestRender(t *testing.T) {
	simple := &statseg.Entry{Type: statseg.TypeCounterSimple, DataType: statseg.TypeCounterSimple}
	combined := &statseg.Entry{Type: statseg.TypeCounterCombined, DataType: statseg.TypeCounterCombined}
	link := &statseg.Entry{Type: statseg.TypeSymlink, DataType: statseg.TypeCounterCombined}
	scalar := &statseg.Entry{Type: statseg.TypeGauge, DataType: statseg.TypeGauge}
	names := &statseg.Entry{Type: statseg.TypeNameVector, DataType: statseg.TypeNameVector,
		Names: []string{"local0", "", "loop1"}, NullNames: []bool{false, true, false}}
	cases := []struct {
		e      *statseg.Entry
		v      statseg.Value
		labels []string
		want   string
	}{
		{scalar, statseg.Value{Scalar: 1795476708}, nil, "1795476708\n"},
		{simple, statseg.Value{Simple: [][]uint64{{1, 2}, {10, 20, 30}}}, []string{"local0", ""},
			"# index thread0 thread1 total name\n0 1 10 11 local0\n1 2 20 22 -\n2 - 30 30 -\n"},
		{simple, statseg.Value{Simple: [][]uint64{{5}}}, nil, "# index thread0 total\n0 5 5\n"},
		{combined, statseg.Value{Combined: [][]statseg.Combined{{{Packets: 1, Bytes: 64}}, {{Packets: 2, Bytes: 128}}}}, []string{"loop0"},
			"# index thread0.packets thread0.bytes thread1.packets thread1.bytes total.packets total.bytes name\n0 1 64 2 128 3 192 loop0\n"},
		{link, statseg.Value{Combined: [][]statseg.Combined{{{Packets: 1, Bytes: 64}}, {{Packets: 2, Bytes: 128}}}}, nil,
			"# thread packets bytes\n0 1 64\n1 2 128\ntotal 3 192\n"},
		{names, statseg.Value{}, nil, "# index name\n0 local0\n2 loop1\n"},
	}
	for i, c := range cases {
		if got := string(render(c.e, &c.v, c.labels)); got != c.want {
			t.Errorf("case %d: got\n%s\nwant\n%s", i, got, c.want)
		}
	}
}

func TestSymlinkLabel(t *testing.T) {
	for _, c := range [][3]string{
		{"/interfaces/loop0/rx", "/if/rx", "loop0"},
		{"/interfaces/GigabitEthernet0_8_0/tx-error", "/if/tx-error", "GigabitEthernet0_8_0"},
		{"/err/llc-input/unknown llc ssap/dsap", "/node/errors", "llc-input/unknown llc ssap/dsap"},
		{"/mem/stat segment/used", "/mem/stat segment", "used"},
		{"/nodes/ip4-input/clocks", "/sys/node/clocks", "ip4-input"},
	} {
		if got := symlinkLabel(c[0], c[1]); got != c[2] {
			t.Errorf("symlinkLabel(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}
