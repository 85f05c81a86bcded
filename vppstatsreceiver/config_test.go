package vppstatsreceiver

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

// validate runs the checks the collector runs on this config (xconfmap is
// not a dependency of this module): ours and the embedded controller's.
func validate(c *Config) error {
	return errors.Join(c.ControllerConfig.Validate(), c.Validate())
}

func TestLoadConfig(t *testing.T) {
	def := loadConfig(t, "")
	require.NoError(t, validate(def))
	assert.Equal(t, "/run/vpp/stats.sock", def.SocketPath)
	assert.Equal(t, 10*time.Second, def.CollectionInterval)
	assert.Equal(t, 35*time.Second, def.StaleAfter)
	assert.False(t, def.PerThread)
	assert.False(t, def.Errors.IncludeZero)
	assert.False(t, def.Nodes.IncludeIdle)
	assert.True(t, def.Metrics.VppInterfaceIo.Enabled)
	assert.False(t, def.Metrics.VppStatCounter.Enabled)
	assert.False(t, def.Metrics.VppStatGauge.Enabled)
	assert.True(t, def.ResourceAttributes.VppStatsSocket.Enabled)

	c := loadConfig(t, "custom")
	require.NoError(t, validate(c))
	assert.Equal(t, "/var/run/vpp/stats-custom.sock", c.SocketPath)
	assert.Equal(t, 30*time.Second, c.CollectionInterval)
	assert.Equal(t, 2*time.Second, c.InitialDelay)
	assert.Equal(t, 5*time.Second, c.Timeout)
	assert.Equal(t, "edge-1", c.Instance)
	assert.True(t, c.PerThread)
	assert.Equal(t, time.Minute, c.StaleAfter)
	assert.Equal(t, []string{"^loop", "^GigabitEthernet"}, c.Interfaces.Include)
	assert.Equal(t, []string{`\.100$`}, c.Interfaces.Exclude)
	assert.Equal(t, []string{"-output$"}, c.Nodes.Exclude)
	assert.True(t, c.Nodes.IncludeIdle)
	assert.True(t, c.Errors.IncludeZero)
	assert.Equal(t, []string{"^ip4-"}, c.Errors.Include)
	assert.Equal(t, []string{"^/net/route/"}, c.Stats.Include)
	assert.True(t, c.Metrics.VppStatCounter.Enabled)
	assert.False(t, c.Metrics.VppNodeClocks.Enabled)
	assert.False(t, c.ResourceAttributes.VppStatsSocket.Enabled)
}

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"empty_socket", []string{"socket_path must not be empty"}},
		{"bad_regex", []string{
			`interfaces::include: invalid regular expression "loop(0"`,
			`stats::exclude: invalid regular expression "[z-a]"`,
		}},
		{"negative_stale", []string{"stale_after must not be negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(loadConfig(t, tc.name))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

// TestNoReaggregationKnobs: the identifying attributes are required in
// metadata.yaml, so mdatagen offers no `attributes` list or
// `aggregation_strategy` to drop them and re-aggregate; the collector
// rejects the keys when it loads the configuration.
func TestNoReaggregationKnobs(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for name, key := range map[string]string{"attributes": "attributes", "aggregation": "aggregation_strategy"} {
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
		require.NoError(t, err)
		err = sub.Unmarshal(NewFactory().CreateDefaultConfig())
		require.ErrorContains(t, err, "invalid keys: "+key, name)
	}
}

func TestFilter(t *testing.T) {
	f, err := FilterConfig{Include: []string{"^loop"}, Exclude: []string{`\.100$`}}.compile("interfaces")
	require.NoError(t, err)
	assert.True(t, f.keep("loop0"))
	assert.False(t, f.keep("loop0.100"))
	assert.False(t, f.keep("pg-1"))
	all, err := FilterConfig{}.compile("nodes")
	require.NoError(t, err)
	assert.True(t, all.keep("anything"))
}
