package vppstatsreceiver

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vppstats/vppstats/internal/testutil"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

// declaredMetrics returns metadata.yaml's metrics with their attribute keys,
// from the generated MetricsInfo.
func declaredMetrics() map[string][]string {
	out := map[string][]string{}
	v := reflect.ValueOf(metadata.MetricsInfo)
	for i := range v.NumField() {
		info := v.Field(i)
		out[info.FieldByName("Name").String()] = info.FieldByName("Attributes").Interface().([]string)
	}
	return out
}

// TestEmittedIsDeclared ties what the code emits to metadata.yaml: with
// every metric switched on, in both per_thread modes, over all captures,
// every emitted metric and attribute key is declared for that metric, and
// every declared metric and attribute key is emitted somewhere. A metric
// added to the YAML but not emitted, or an attribute key typed wrong in the
// code, fails here.
func TestEmittedIsDeclared(t *testing.T) {
	declared := declaredMetrics()
	require.Len(t, declared, int(metadata.NumMetrics)+len(stateMetrics)) // state metrics: identity.go
	for id := range metadata.NumMetrics {
		require.Contains(t, declared, id.Name(), "MetricID %d", id)
	}
	seen := map[string]map[string]bool{}
	for _, c := range captures {
		for _, perThread := range []bool{false, true} {
			s := newServedCaptureScraper(t, func(cfg *Config) {
				enableAllMetrics(cfg)
				cfg.Metrics.VppStatCounter.Enabled = true
				cfg.Metrics.VppStatGauge.Enabled = true
				cfg.Errors.IncludeZero = true
				cfg.PerThread = perThread
			}, capturePath(c.version, c.name))
			s.stopIdentity() // the real API client of the default api_socket_path
			s.id.api = everyIdentityAttribute()
			md, err := s.scrape(context.Background())
			require.NoError(t, err)
			for _, p := range testutil.Points(md) {
				name := p.Metric
				keys, ok := declared[name]
				require.True(t, ok, "%s is emitted but not declared in metadata.yaml", name)
				if seen[name] == nil {
					seen[name] = map[string]bool{}
				}
				for k := range p.DP.Attributes().All() {
					require.True(t, slices.Contains(keys, k), "%s carries %s, which metadata.yaml does not declare for it", name, k)
					seen[name][k] = true
				}
			}
		}
	}
	for name, keys := range declared {
		require.Contains(t, seen, name, "%s is declared in metadata.yaml but never emitted", name)
		for _, k := range keys {
			require.True(t, seen[name][k], "%s: attribute %s is declared but never emitted", name, k)
		}
	}
}
