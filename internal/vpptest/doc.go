// Package vpptest starts and stops real FD.io VPP processes for tests and
// tools, and runs VPP's own stats readers (vpp_get_stats,
// vpp_prometheus_export) against any stats socket.
//
// The VPP runtime is found at $VPPSTATS_VPP_DIR, or else at
// <repository root>/../shared/vpp/v26.06 (where CI puts it). Each VPP runs
// in its own RUN directory with a unique api-segment prefix, so tests can
// start several at once (t.Parallel).
//
// When VPP cannot start (no runtime, not root, a missing library), Start
// skips the test, unless CI=true, where a test that cannot reach its VPP
// fails: a skipped live suite must never look like a passed one.
package vpptest
