// Package e2e holds end-to-end tests (in its _test.go files) that drive the
// built otelcol-vpp and vppstat binaries the way an operator would. Run them
// with `make e2e`, which builds both and passes their paths in
// OTELCOL_VPP_BIN and VPPSTAT_BIN. Without them the tests skip, except under
// CI=true, where a missing binary fails them.
package e2e
