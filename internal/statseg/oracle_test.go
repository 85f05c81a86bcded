package statseg

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vppstats/vppstats/internal/testutil"
)

// captures lists the real VPP segments in testdata, each with VPP's own
// `vpp_get_stats dump` of it beside it.
func captures(t testing.TB) []string {
	t.Helper()
	segs, err := filepath.Glob("../../testdata/vpp/*/*.seg.gz")
	if err != nil || len(segs) == 0 {
		t.Fatalf("no captures in testdata/vpp (%v)", err)
	}
	return segs
}

// TestDumpMatchesVPP checks every value, name and type we read from the real
// captures against VPP's own C reader, line for line (as multisets: VPP
// prints in directory order too, but the comparison must not hide a
// missing or extra line behind an ordering difference).
func TestDumpMatchesVPP(t *testing.T) {
	for _, seg := range captures(t) {
		name := strings.TrimPrefix(seg, "../../testdata/vpp/")
		t.Run(name, func(t *testing.T) {
			r, err := OpenFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			s := snapshotAll(t, r)
			if len(s.Errs) != 0 {
				t.Fatalf("unreadable entries in a real capture: %v", s.Errs)
			}
			got := strings.Split(strings.TrimSuffix(dumpOf(t, s), "\n"), "\n")
			want := testutil.ReadDump(t, testutil.DumpPath(seg)).Lines()
			if len(got) != len(want) {
				t.Errorf("%d lines, VPP printed %d", len(got), len(want))
			}
			missing, extra := diffMultiset(want, got)
			for i, l := range missing {
				if i == 10 {
					t.Errorf("... %d more missing", len(missing)-10)
					break
				}
				t.Errorf("VPP printed, we did not: %q", l)
			}
			for i, l := range extra {
				if i == 10 {
					t.Errorf("... %d more extra", len(extra)-10)
					break
				}
				t.Errorf("we printed, VPP did not: %q", l)
			}
			// Same order too, since both walk the directory in order.
			if len(missing) == 0 && len(extra) == 0 {
				for i := range got {
					if got[i] != want[i] {
						t.Errorf("line %d: %q, VPP printed %q", i+1, got[i], want[i])
						break
					}
				}
			}
		})
	}
}

// diffMultiset returns the lines of want not in got and of got not in want,
// counting repeats.
func diffMultiset(want, got []string) (missing, extra []string) {
	count := map[string]int{}
	for _, l := range want {
		count[l]++
	}
	for _, l := range got {
		count[l]--
	}
	for l, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, l)
		}
		for ; n < 0; n++ {
			extra = append(extra, l)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}
