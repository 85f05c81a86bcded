package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestServeArgumentErrors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "stats.sock")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--simulate"}, "--socket PATH is required"},
		{[]string{"--socket", sock}, "exactly one of"},
		{[]string{"--socket", sock, "--simulate", "--replay", "x.seg"}, "exactly one of"},
		{[]string{"--socket", sock, "--replay", "x.seg", "--threads", "2"}, "only applies with --simulate"},
		{[]string{"--socket", sock, "--simulate", "extra"}, "unexpected arguments"},
		{[]string{"--socket", sock, "--simulate", "--update-interval", "0s"}, "must be positive"},
		{[]string{"--socket", sock, "--simulate", "--threads", "-1"}, "out of range"},
		{[]string{"--socket", sock, "--replay", filepath.Join(t.TempDir(), "missing.seg.gz")}, "missing.seg.gz"},
		{[]string{"--socket", filepath.Join(t.TempDir(), "no", "dir.sock"), "--simulate"}, "socket directory"},
	} {
		err := runServe(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %q: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
