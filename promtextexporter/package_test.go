package promtextexporter

import (
	"testing"

	"go.uber.org/goleak"
)

// Every exporter a test starts (ours and the contrib one it is compared
// with) must have stopped its server and expiry goroutines by the end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
