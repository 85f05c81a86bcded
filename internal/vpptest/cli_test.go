package vpptest

import (
	"strings"
	"testing"
)

func TestCLIFailed(t *testing.T) {
	for _, c := range []struct {
		cmd, out string
		failed   bool
	}{
		{"create loopback interface", "loop0\n", false},
		{"show version", "vpp v26.06-release built by root\n", false},
		{"foo bar", "unknown input `foo bar'\n", true},
		{"set interface state loop9 up", "set interface state: unknown interface `loop9 up'\n", true},
		{"exec /x.cli", "exec: CLI line error: loop9 up\n", true},
		{"show errors", "   Count    Node   Reason   Severity\n", false},
		{"set interface state loop0 up", "", false},
	} {
		if got := cliFailed(c.cmd, c.out); got != c.failed {
			t.Errorf("cliFailed(%q, %q) = %v, want %v", c.cmd, c.out, got, c.failed)
		}
	}
}

func TestStartFailsClearly(t *testing.T) {
	t.Setenv(DirEnv, t.TempDir())
	_, err := New(Options{})
	if err == nil || !strings.Contains(err.Error(), DirEnv) {
		t.Fatalf("want an error naming %s, got %v", DirEnv, err)
	}
}
