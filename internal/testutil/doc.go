// Package testutil holds what the tests of several packages share: one
// parser of VPP's own dumps of the captured segments (`vpp_get_stats
// dump`, the oracle every reader is checked against) and one flattener of
// pdata metrics into points.
package testutil
