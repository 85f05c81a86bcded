//go:build vpp

package statseg

import (
	"testing"
	"time"

	"github.com/vppstats/vppstats/internal/vpptest"
)

// TestVPPDirectoryKeptAcrossUpdates: a real VPP rewrites /sys/heartbeat and
// /sys/last_update in their directory entries every update-interval without
// an epoch change. The reader must keep the directory it resolved across
// those updates instead of resolving all entries again on every read.
func TestVPPDirectoryKeptAcrossUpdates(t *testing.T) {
	t.Parallel()
	v := vpptest.Start(t, vpptest.Options{UpdateInterval: time.Second})
	r, err := Connect(v.StatsSocket(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	heartbeat := func() uint64 {
		t.Helper()
		var val Value
		if _, _, err := r.ReadEntry("/sys/heartbeat", &val); err != nil {
			t.Fatal(err)
		}
		return val.Scalar
	}
	// VPP may still change its directory just after start (epoch moves):
	// try a few windows for one in which the epoch stays.
	for range 5 {
		d1, err := r.Directory()
		if err != nil {
			t.Fatal(err)
		}
		hb := heartbeat()
		time.Sleep(2500 * time.Millisecond)
		d2, err := r.Directory()
		if err != nil {
			t.Fatal(err)
		}
		if d2.Epoch != d1.Epoch {
			continue
		}
		if heartbeat() == hb {
			t.Fatalf("/sys/heartbeat stayed at %d for 2.5 s with update-interval 1s", hb)
		}
		if d2 != d1 {
			t.Fatalf("the directory (epoch %d, %d entries) was resolved again after VPP updated values only", d1.Epoch, len(d1.Entries))
		}
		return
	}
	t.Fatal("VPP's directory epoch moved in every 2.5 s window")
}
