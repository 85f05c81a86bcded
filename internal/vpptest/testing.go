package vpptest

import (
	"errors"
	"os"
	"testing"
)

// Start starts a VPP for a test and stops it when the test ends. When VPP
// cannot start, the test is skipped, or fails when CI=true: there, a live
// suite that did not run must not pass.
func Start(tb testing.TB, opts Options) *VPP {
	tb.Helper()
	v, err := New(opts)
	if errors.Is(err, ErrNoTmpfs) {
		tb.Skipf("VPP on tmpfs: %v", err)
	}
	if err != nil {
		Unavailable(tb, "VPP cannot start: %v", err)
	}
	tb.Cleanup(v.Close)
	return v
}

// Unavailable skips the test for a missing prerequisite, or fails it when
// CI=true.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
		tb.Fatalf(format+" (CI=true: a missing prerequisite is a failure)", args...)
	}
	tb.Skipf(format+" (set CI=true to make this a failure)", args...)
}

// MustCLI runs a CLI command and fails the test on error.
func (v *VPP) MustCLI(tb testing.TB, cmd string) string {
	tb.Helper()
	out, err := v.CLI(cmd)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// MustGetStats runs vpp_get_stats on this VPP and fails the test on error.
func (v *VPP) MustGetStats(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := v.GetStats(args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// MustGetStatsOn runs VPP's vpp_get_stats on any stats socket (ours too) and
// fails the test on error; without a VPP runtime it skips, or fails with
// CI=true.
func MustGetStatsOn(tb testing.TB, sock string, args ...string) string {
	tb.Helper()
	if _, err := Dir(); err != nil {
		Unavailable(tb, "%v", err)
	}
	out, err := GetStats(sock, args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
