package statsfs

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// reader, server or mount left running is a leak in the code or the test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
