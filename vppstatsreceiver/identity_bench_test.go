package vppstatsreceiver

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vppstats/vppstats/internal/vppapi"
)

// BenchmarkScrapeIdentity measures a steady-state scrape of a simulated VPP
// with 1,000 and 10,000 interfaces (1 thread): counters only (the baseline
// of the same run), plus the interface state metrics from a full API table
// (what the receiver does per scrape once the table is there: no API
// message), plus pod attribution of every other interface.
func BenchmarkScrapeIdentity(b *testing.B) {
	for _, ifs := range []int{1000, 10000} {
		for _, mode := range []string{"counters", "state", "state+pods"} {
			b.Run(fmt.Sprintf("sim-%dx1/%s", ifs, mode), func(b *testing.B) {
				file := simSegmentFile(b, ifs, 1)
				var state string
				if mode == "state+pods" {
					state = writePodState(b, ifs)
				}
				s := newServedCaptureScraper(b, func(c *Config) {
					c.APISocketPath = ""
					c.Pods.CalicoVPPState = state
				}, file)
				if mode != "counters" {
					var table []vppapi.Interface
					for i := range ifs + 1 {
						table = append(table, vppapi.Interface{Index: uint32(i), Name: fmt.Sprintf("if%d", i), DevType: "virtio",
							MAC: "02-FE-00-00-00-01", AdminUp: true, LinkUp: true, SpeedBytes: 1_250_000_000, MTU: 1500})
					}
					s.id.api = &staticInterfaces{table: vppapi.NewTable(true, table...)}
				}
				benchScrape(b, s)
			})
		}
	}
}

// writePodState writes a Calico/VPP state file with a pod on every other
// interface.
func writePodState(tb testing.TB, ifs int) string {
	specs := map[string]any{}
	for i := 1; i <= ifs; i += 2 {
		specs[fmt.Sprintf("netns:/var/run/netns/cni-%d,if:eth0", i)] = map[string]any{
			"workloadID": fmt.Sprintf("ns%d/pod-%d", i%7, i), "containerIps": []string{fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)},
			"tunTapSwIfIndex": i, "memifSwIfIndex": ^uint32(0), "loopbackSwIfIndex": ^uint32(0),
		}
	}
	data, err := json.Marshal(map[string]any{"version": 11, "podSpecs": specs})
	require.NoError(tb, err)
	path := filepath.Join(tb.TempDir(), "calicovpp_state.v11.json")
	require.NoError(tb, os.WriteFile(path, data, 0o600))
	return path
}
