package pods

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func newSource(t *testing.T, path string) (*CalicoVPP, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	return NewCalicoVPP(path, zap.New(core)), logs
}

// place copies a fixture to path the way the agent writes it: a temporary
// file renamed over the old one.
func place(t *testing.T, fixture, path string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", fixture))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+"~", data, 0o200))
	require.NoError(t, os.Rename(path+"~", path))
}

func TestCalicoVPPFixture(t *testing.T) {
	src, logs := newSource(t, filepath.Join("testdata", "calicovpp_state.v11.json"))
	got := src.Pods()
	web := Pod{Namespace: "default", Name: "web-7d4b9c-x2x4q", IP: "10.244.1.5"}
	api := Pod{Namespace: "payments", Name: "api-0", IP: "10.244.1.7"} // IPv4 first, though listed second
	assert.Equal(t, map[uint32]Pod{
		5:  web,
		7:  api, // tun/tap
		8:  api, // memif
		9:  api, // its interface on the multinet network "blue": the same pod
		12: {Namespace: "kube-system", Name: "coredns-abc", IP: "fd00:10:244:1::c"},
	}, got, "workload ids without a namespace are not pods; invalid indexes are skipped")
	assert.Equal(t, 1, logs.FilterMessageSnippet("pod attribution from").Len())

	// Unchanged file: the same map, no second parse or log.
	again := src.Pods()
	assert.Equal(t, got, again)
	assert.Equal(t, 1, logs.Len())
}

func TestCalicoVPPUnknownVersion(t *testing.T) {
	src, logs := newSource(t, filepath.Join("testdata", "calicovpp_state.v12.json"))
	for range 5 {
		assert.Empty(t, src.Pods())
	}
	require.Equal(t, 1, logs.Len(), "one log line, not one per scrape")
	assert.Contains(t, logs.All()[0].ContextMap()["error"], "unsupported Calico/VPP state file version 12")
}

func TestCalicoVPPMissingThenAppearsThenChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calicovpp_state.v11.json")
	src, logs := newSource(t, path)
	for range 3 {
		assert.Empty(t, src.Pods())
	}
	require.Equal(t, 1, logs.FilterMessageSnippet("no pod attribution").Len())
	assert.Contains(t, logs.All()[0].ContextMap()["error"], "does not exist")

	// The agent starts and writes its state.
	place(t, "calicovpp_state.v11.json", path)
	assert.Len(t, src.Pods(), 5)

	// A pod goes away: the agent rewrites the file.
	require.NoError(t, os.WriteFile(path+"~", []byte(`{"version":11,"podSpecs":{"netns:/x,if:eth0":{"workloadID":"default/solo","containerIps":["10.244.1.20"],"tunTapSwIfIndex":21,"memifSwIfIndex":4294967295,"loopbackSwIfIndex":4294967295}}}`), 0o200))
	require.NoError(t, os.Rename(path+"~", path))
	assert.Equal(t, map[uint32]Pod{21: {Namespace: "default", Name: "solo", IP: "10.244.1.20"}}, src.Pods())

	// Broken, then an unknown version, then removed: empty each time.
	require.NoError(t, os.WriteFile(path, []byte(`{"version":11,"podSpecs":`), 0o600))
	assert.Empty(t, src.Pods())
	place(t, "calicovpp_state.v12.json", path)
	assert.Empty(t, src.Pods())
	require.NoError(t, os.Remove(path))
	assert.Empty(t, src.Pods())
	assert.Equal(t, 4, logs.FilterMessageSnippet("no pod attribution").Len(), "one line per new failure")
}

func TestCalicoVPPRejectsHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(maxStateSize+10))
	require.NoError(t, f.Close())
	src, logs := newSource(t, path)
	assert.Empty(t, src.Pods())
	assert.Contains(t, logs.All()[0].ContextMap()["error"], "larger than")
}
