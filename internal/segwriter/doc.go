// Package segwriter is the producer side of VPP's stats segment, for
// tests, benchmarks and the simulator: a Writer that publishes entries in a
// memfd following VPP's layout and locking protocol (src/vlib/stats/stats.c),
// and a Server that hands the memfd out over a SEQPACKET socket as VPP's
// stats socket does. Saved segments are served from sealed memfds, frozen
// (ServeFile) or kept changing as a running VPP's segment does between
// directory changes (Replay).
//
// Package statseg is the reader; both follow package statseg/layout and
// neither imports the other, so the reader's tests can use this package.
//
// Some of the Writer's methods exist for tests only and bypass VPP's rules
// on purpose: Mem (the live mapping, for fault injection) and HoldLock (a
// VPP stuck in a directory change).
package segwriter
