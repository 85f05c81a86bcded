package vppstatsreceiver

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vppstats/vppstats/internal/vppapi"
	"github.com/vppstats/vppstats/internal/vppsim"
)

// staticInterfaces stands in for the API client: a fixed table.
type staticInterfaces struct {
	table     *vppapi.Table
	refreshes int
}

func (s *staticInterfaces) Table() *vppapi.Table { return s.table }
func (s *staticInterfaces) Refresh()             { s.refreshes++ }
func (s *staticInterfaces) Close()               {}

// everyIdentityAttribute is an API table whose interfaces carry every
// state metric and attribute.
func everyIdentityAttribute() *staticInterfaces {
	return &staticInterfaces{table: vppapi.NewTable(true,
		vppapi.Interface{Index: 1, Name: "GigabitEthernet0/8/0", DevType: "dpdk", MAC: "02-FE-00-00-00-01", Tag: "uplink",
			AdminUp: true, LinkUp: true, SpeedBytes: 1_250_000_000, MTU: 9000},
		vppapi.Interface{Index: 2, Name: "GigabitEthernet0/8/0.100", DevType: "dpdk", IsSub: true, ParentIndex: 1, SubID: 100, SpeedBytes: 1_250_000_000, MTU: 9000},
	)}
}

var stateMetrics = []string{"vpp.interface.admin.up", "vpp.interface.link.up", "vpp.interface.link.speed", "vpp.interface.mtu"}

// resourcePoints returns, per resource (keyed by its attributes), the points
// of metric name keyed by their attributes.
func resourcePoints(md pmetric.Metrics, name string) map[string]map[string]pmetric.NumberDataPoint {
	out := map[string]map[string]pmetric.NumberDataPoint{}
	for i := range md.ResourceMetrics().Len() {
		rm := md.ResourceMetrics().At(i)
		one := pmetric.NewMetrics()
		rm.CopyTo(one.ResourceMetrics().AppendEmpty())
		if pts := dataPoints(one, name); len(pts) > 0 {
			out[attrKey(rm.Resource().Attributes())] = pts
		}
	}
	return out
}

func withAPI(l *live, ifs ...vppapi.Interface) *staticInterfaces {
	src := &staticInterfaces{table: vppapi.NewTable(true, ifs...)}
	l.s.stopIdentity()
	l.s.id.api = src
	return src
}

// simIdentity describes the simulated VPP's interfaces as the API would.
func simIdentity(names []string) []vppapi.Interface {
	var ifs []vppapi.Interface
	for i, n := range names {
		if n == "" {
			continue
		}
		ifs = append(ifs, vppapi.Interface{Index: uint32(i), Name: n, DevType: "Loopback", MTU: 9000,
			MAC: "DE-AD-00-00-00-0" + strconv.Itoa(i), AdminUp: i%2 == 1, LinkUp: i%2 == 1})
	}
	return ifs
}

func TestInterfaceStateMetrics(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 3}, func(c *Config) {
		c.APISocketPath = ""
		c.Interfaces.Exclude = []string{"^local0$"}
	})
	names := l.sim.Interfaces()
	ifs := simIdentity(names)
	ifs[1].Tag = "uplink"
	ifs[1].SpeedBytes = 1_250_000_000
	sub := vppapi.Interface{Index: 9, Name: names[1] + ".100", DevType: "Loopback", AdminUp: true, IsSub: true, ParentIndex: 1, SubID: 100}
	withAPI(l, append(ifs, sub)...)
	md := l.mustScrape(0)

	admin := dataPoints(md, "vpp.interface.admin.up")
	id := func(i int, name string, extra ...string) string {
		return key(append([]string{"network.interface.name", name, "vpp.interface.index", strconv.Itoa(i), "vpp.interface.driver", "Loopback"}, extra...)...)
	}
	mac := func(i int) string { return "DE-AD-00-00-00-0" + strconv.Itoa(i) }
	want := map[string]int64{
		id(1, names[1], "hw.network.physical_address", mac(1), "vpp.interface.tag", "uplink"): 1,
		id(2, names[2], "hw.network.physical_address", mac(2)):                                0,
		id(3, names[3], "hw.network.physical_address", mac(3)):                                1,
		id(9, sub.Name, "vpp.interface.parent.name", names[1], "vpp.interface.sub_id", "100"): 1,
	}
	got := map[string]int64{}
	for k, dp := range admin {
		got[k] = dp.IntValue()
	}
	assert.Equal(t, want, got, "local0 is filtered out like its counters")

	speed := dataPoints(md, "vpp.interface.link.speed")
	require.Len(t, speed, 1, "only the interface with a speed")
	for _, dp := range speed {
		assert.Equal(t, int64(1_250_000_000), dp.IntValue())
	}
	assert.Len(t, dataPoints(md, "vpp.interface.mtu"), 3, "the sub-interface reports no MTU here")
	assert.Len(t, dataPoints(md, "vpp.interface.link.up"), 4)

	// The descriptive attributes stay off the counters.
	for k := range dataPoints(md, "vpp.interface.packets") {
		assert.NotContains(t, k, "vpp.interface.driver")
		assert.NotContains(t, k, "hw.network.physical_address")
		assert.NotContains(t, k, "vpp.interface.tag")
	}
}

func TestInterfaceStateOffWithoutAPI(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 2}, func(c *Config) { c.APISocketPath = "" })
	md := l.mustScrape(0)
	for _, m := range stateMetrics {
		assert.Empty(t, dataPoints(md, m), m)
	}
	// An API that is not connected (missing, refusing, incompatible) gives
	// an empty table: counters only.
	withAPI(l)
	md = l.mustScrape(0)
	assert.NotEmpty(t, dataPoints(md, "vpp.interface.packets"))
	for _, m := range stateMetrics {
		assert.Empty(t, dataPoints(md, m), m)
	}
}

func TestDirectoryChangeRefreshesInterfaces(t *testing.T) {
	l := newLive(t, vppsim.Options{Interfaces: 2}, func(c *Config) { c.APISocketPath = "" })
	src := withAPI(l, simIdentity(l.sim.Interfaces())...)
	for range 20 {
		l.mustScrape(0)
	}
	assert.Zero(t, src.refreshes, "no refresh while the directory stays")
	_, err := l.sim.AddInterface("loop9")
	require.NoError(t, err)
	l.mustScrape(0)
	assert.Equal(t, 1, src.refreshes)
}

const podState = `{"version":11,"podSpecs":{
 "netns:/var/run/netns/cni-1,if:eth0":{"workloadID":"shop/web-0","containerIps":["fd00::5","10.244.1.5"],"tunTapSwIfIndex":2,"memifSwIfIndex":3,"loopbackSwIfIndex":4294967295,"networkName":""}}}`

func TestPodInterfacesGetTheirOwnResource(t *testing.T) {
	state := filepath.Join(t.TempDir(), "calicovpp_state.v11.json")
	require.NoError(t, os.WriteFile(state, []byte(podState), 0o600))
	l := newLive(t, vppsim.Options{Interfaces: 4}, func(c *Config) {
		c.APISocketPath = ""
		c.Pods.CalicoVPPState = state
	})
	names := l.sim.Interfaces()
	withAPI(l, simIdentity(names)...)
	md := l.mustScrape(0)

	vppRes := key("vpp.stats.socket", l.sock)
	podRes := key("vpp.stats.socket", l.sock, "k8s.pod.name", "web-0", "k8s.namespace.name", "shop", "k8s.pod.ip", "10.244.1.5")
	for _, metric := range []string{"vpp.interface.packets", "vpp.interface.admin.up"} {
		byRes := resourcePoints(md, metric)
		require.Len(t, byRes, 2, metric)
		inPod := indexes(byRes[podRes])
		assert.ElementsMatch(t, []string{"2", "3"}, inPod, "%s: the pod's tun/tap and memif", metric)
		assert.NotContains(t, indexes(byRes[vppRes]), "2", metric)
		assert.NotContains(t, indexes(byRes[vppRes]), "3", metric)
		assert.Contains(t, indexes(byRes[vppRes]), "1", metric)
	}

	// The agent forgets the pod: its interfaces go back to the VPP resource.
	require.NoError(t, os.WriteFile(state+"~", []byte(`{"version":11,"podSpecs":{}}`), 0o600))
	require.NoError(t, os.Rename(state+"~", state))
	md = l.mustScrape(0)
	assert.Len(t, resourcePoints(md, "vpp.interface.packets"), 1)
}

func TestPodsUnknownVersionKeepsOneResource(t *testing.T) {
	state := filepath.Join(t.TempDir(), "calicovpp_state.v11.json")
	require.NoError(t, os.WriteFile(state, []byte(`{"version":99,"podSpecs":{}}`), 0o600))
	l := newLive(t, vppsim.Options{Interfaces: 2}, func(c *Config) {
		c.APISocketPath = ""
		c.Pods.CalicoVPPState = state
	})
	md := l.mustScrape(0)
	assert.Equal(t, 1, md.ResourceMetrics().Len())
	assert.NotEmpty(t, dataPoints(md, "vpp.interface.packets"))
}

func indexes(pts map[string]pmetric.NumberDataPoint) []string {
	seen := map[string]bool{}
	var out []string
	for _, dp := range pts {
		v, _ := dp.Attributes().Get(interfaceIndexKey)
		s := v.AsString()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func TestIdentityConfigValidation(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, vppapi.DefaultSocketPath, cfg.APISocketPath)
	require.NoError(t, cfg.Validate())
	cfg.APISocketPath = ""
	require.NoError(t, cfg.Validate(), `"" switches the API off`)
	cfg.APISocketPath = "run/vpp/api.sock"
	assert.ErrorContains(t, cfg.Validate(), "api_socket_path")
	cfg.APISocketPath = vppapi.DefaultSocketPath
	cfg.Pods.CalicoVPPState = "calicovpp_state.v11.json"
	assert.ErrorContains(t, cfg.Validate(), "pods::calico_vpp_state")
}
