//go:build vpp

package vppapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vppstats/vppstats/internal/vpptest"
)

// waitFor polls the client's table until ok holds (bounded, to fail a hang
// rather than to time anything).
func waitFor(t *testing.T, c *Client, what string, ok func(*Table) bool) *Table {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		tb := c.Table()
		if ok(tb) {
			return tb
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw %s; table: connected=%v %+v", what, tb.Connected, tb.All())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func byName(tb *Table, name string) (Interface, bool) {
	for _, in := range tb.All() {
		if in.Name == name {
			return in, true
		}
	}
	return Interface{}, false
}

func TestVPPInterfaceTable(t *testing.T) {
	vpp := vpptest.Start(t, vpptest.Options{})
	vpp.MustCLI(t, "create loopback interface")
	vpp.MustCLI(t, "create sub-interfaces loop0 100")
	c, _ := startClient(t, vpp.APISocket())

	tb := waitFor(t, c, "loop0 and its sub-interface", func(tb *Table) bool {
		_, ok := byName(tb, "loop0.100")
		return tb.Connected && ok
	})
	l0, _ := byName(tb, "loop0")
	assert.Equal(t, "Loopback", l0.DevType)
	assert.False(t, l0.AdminUp)
	assert.Regexp(t, `^([0-9A-F]{2}-){5}[0-9A-F]{2}$`, l0.MAC)
	sub, _ := byName(tb, "loop0.100")
	assert.True(t, sub.IsSub)
	assert.Equal(t, uint32(100), sub.SubID)
	assert.Equal(t, "loop0", tb.ParentName(sub))
	local0, ok := byName(tb, "local0")
	assert.True(t, ok)
	assert.Zero(t, local0.Index)

	// State changes arrive as events: no Refresh.
	vpp.MustCLI(t, "set interface state loop0 up")
	waitFor(t, c, "loop0 admin up", func(tb *Table) bool { in, _ := byName(tb, "loop0"); return in.AdminUp })
	vpp.MustCLI(t, "set interface state loop0 down")
	waitFor(t, c, "loop0 admin down", func(tb *Table) bool { in, _ := byName(tb, "loop0"); return !in.AdminUp })

	// A tag sends no event: it shows at the next Refresh (the receiver's
	// answer to a stats directory change) or event of that interface.
	vpp.MustCLI(t, "set interface tag loop0 uplink-a")
	c.Refresh()
	waitFor(t, c, "loop0's tag", func(tb *Table) bool { in, _ := byName(tb, "loop0"); return in.Tag == "uplink-a" })

	// A new interface shows at the Refresh; a deleted one goes with its
	// event.
	vpp.MustCLI(t, "create loopback interface")
	c.Refresh()
	waitFor(t, c, "loop1", func(tb *Table) bool { _, ok := byName(tb, "loop1"); return ok })
	vpp.MustCLI(t, "delete loopback interface intfc loop1")
	waitFor(t, c, "loop1 gone", func(tb *Table) bool { _, ok := byName(tb, "loop1"); return !ok && tb.Len() > 0 })
}

func TestVPPRestartIsFollowed(t *testing.T) {
	vpp := vpptest.Start(t, vpptest.Options{})
	vpp.MustCLI(t, "create loopback interface")
	c, _ := startClient(t, vpp.APISocket())
	waitFor(t, c, "loop0", func(tb *Table) bool { _, ok := byName(tb, "loop0"); return ok })

	// VPP leaves api.sock behind when it stops; the new VPP's socket file
	// is noticed without a Refresh.
	require.NoError(t, vpp.Restart())
	vpp.MustCLI(t, "create loopback interface")
	vpp.MustCLI(t, "create loopback interface")
	waitFor(t, c, "the new VPP", func(tb *Table) bool { _, ok := byName(tb, "loop0"); return tb.Connected && ok })
	c.Refresh() // loop1 came after the connection: the stats epoch changed
	waitFor(t, c, "loop1 of the new VPP", func(tb *Table) bool { _, ok := byName(tb, "loop1"); return tb.Connected && ok })
}
