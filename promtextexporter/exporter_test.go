package promtextexporter

import (
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, "prometheus_text", f.Type().String())
	require.NoError(t, componenttest.CheckConfigStruct(f.CreateDefaultConfig()))
}

func TestConfigUnmarshal(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cm := confmap.NewFromStringMap(map[string]any{
		"endpoint":                         "127.0.0.1:9482",
		"namespace":                        "dp",
		"const_labels":                     map[string]any{"site": "lab"},
		"metric_expiration":                "2m",
		"resource_to_telemetry_conversion": map[string]any{"enabled": true, "exclude_service_attributes": true},
		"without_scope_info":               true,
		"translation_strategy":             "UnderscoreEscapingWithoutSuffixes",
	})
	require.NoError(t, cm.Unmarshal(cfg))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, "127.0.0.1:9482", cfg.ServerConfig.NetAddr.Endpoint)
	assert.Equal(t, "dp", cfg.Namespace)
	assert.Equal(t, map[string]string{"site": "lab"}, cfg.ConstLabels)
	assert.Equal(t, "2m0s", cfg.MetricExpiration.String())
	assert.True(t, cfg.ResourceToTelemetrySettings.Enabled)
	assert.True(t, cfg.ResourceToTelemetrySettings.ExcludeServiceAttributes)
	assert.True(t, cfg.WithoutScopeInfo)
	assert.Equal(t, "UnderscoreEscapingWithoutSuffixes", cfg.TranslationStrategy)
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no endpoint", func(c *Config) { c.ServerConfig.NetAddr.Endpoint = " " }, "endpoint: empty"},
		{"no expiration", func(c *Config) { c.MetricExpiration = 0 }, "metric_expiration: 0s; set a positive duration"},
		{"UTF-8 strategy", func(c *Config) { c.TranslationStrategy = "NoTranslation" }, `translation_strategy: "NoTranslation" is not supported`},
		{"bad const label", func(c *Config) { c.ConstLabels = map[string]string{"a-b": "x"} }, `const_labels: "a-b" is not a valid Prometheus label name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:9482"
			tc.edit(cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestLifecycle starts the exporter on a real socket, serves an exposition
// identity and gzip-encoded (the same text), fails to start on a port in
// use, and shuts down cleanly, started or not.
func TestLifecycle(t *testing.T) {
	endpoint := freeEndpoint(t)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = endpoint
	exp := startExporter(t, NewFactory(), cfg)
	assert.False(t, exp.Capabilities().MutatesData)
	require.NoError(t, exp.ConsumeMetrics(context.Background(), vppShaped(3, now())))

	get := func(acceptEncoding string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, "http://"+endpoint+"/metrics", nil)
		require.NoError(t, err)
		req.Header.Set("Accept-Encoding", acceptEncoding)
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", resp.Header.Get("Content-Type"))
		return resp
	}
	plain, err := io.ReadAll(get("identity").Body)
	require.NoError(t, err)
	require.Len(t, parse(t, plain)["vpp_interface_packets_total"].Series, 6)

	resp := get("deflate, gzip;q=0.8")
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(resp.Body)
	require.NoError(t, err)
	inflated, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, string(plain), string(inflated))

	assert.Empty(t, get("gzip;q=0").Header.Get("Content-Encoding"))

	// A second exporter on the same port must fail to start, not crash.
	busy := NewFactory().CreateDefaultConfig().(*Config)
	busy.ServerConfig.NetAddr.Endpoint = endpoint
	exp2, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(componentType), busy)
	require.NoError(t, err)
	err = exp2.Start(context.Background(), componenttest.NewNopHost())
	var opErr *net.OpError
	require.ErrorAs(t, err, &opErr)
	require.NoError(t, exp2.Shutdown(context.Background()))

	neverStarted, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(componentType), cfg)
	require.NoError(t, err)
	require.NoError(t, neverStarted.Shutdown(context.Background()))
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                      false,
		"gzip":                  true,
		"deflate, gzip":         true,
		"gzip;q=0.5":            true,
		"gzip; q=0":             false,
		"identity":              false,
		"x-gzip":                false,
		"br;q=1.0, gzip;q=0.8 ": true,
	} {
		assert.Equal(t, want, acceptsGzip(header), "Accept-Encoding: %q", header)
	}
}

// TestDropsWithReason checks that what the text format cannot carry is
// dropped with one logged reason per metric, not served wrong.
func TestDropsWithReason(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	s := newStore(NewFactory().CreateDefaultConfig().(*Config), zap.New(core))
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	eh := ms.AppendEmpty()
	eh.SetName("exp.hist")
	eh.SetEmptyExponentialHistogram().DataPoints().AppendEmpty().SetCount(3)
	dh := ms.AppendEmpty()
	dh.SetName("delta.hist")
	dh.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dh.Histogram().DataPoints().AppendEmpty().SetCount(3)
	ds := ms.AppendEmpty()
	ds.SetName("delta.updown")
	ds.SetEmptySum().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	ds.Sum().DataPoints().AppendEmpty().SetIntValue(1)
	conflict := ms.AppendEmpty()
	conflict.SetName("kept.total") // kept_total, as the counter below, but a gauge
	conflict.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
	ok := ms.AppendEmpty()
	ok.SetName("kept")
	ok.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(5)
	ok2 := ms.AppendEmpty()
	ok2.SetName("kept")
	ok2.SetEmptySum().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	ok2.Sum().SetIsMonotonic(true) // kept_total, taken by the gauge above
	ok2.Sum().DataPoints().AppendEmpty().SetIntValue(6)

	for range 2 {
		s.consume(md, timeNow())
	}
	got := parse(t, s.appendText(nil, timeNow()))
	assert.Equal(t, []string{"kept", "kept_total"}, sortedKeys(got))
	assert.Equal(t, "GAUGE", got["kept_total"].Type, "the first type seen keeps the name")
	var msgs []string
	for _, e := range logs.All() {
		msgs = append(msgs, e.ContextMap()["metric"].(string)+": "+e.Message)
	}
	assert.ElementsMatch(t, []string{
		"exp.hist: dropping metric: the Prometheus text format cannot carry exponential histograms; use the prometheus exporter (native histograms) or OTLP",
		"delta.hist: dropping histogram: only cumulative histograms are exposed; use the cumulativetodelta/deltatocumulative processor upstream",
		"delta.updown: dropping sum: Prometheus has no type for a sum with unspecified temporality or a non-monotonic delta",
		"kept_total: dropping metric: its Prometheus name already has another type",
	}, msgs)
}

// TestConcurrentConsumeAndScrape runs consumes and /metrics requests at the
// same time (run with -race): every response must parse and hold every
// series, whichever consume it follows.
func TestConcurrentConsumeAndScrape(t *testing.T) {
	endpoint := freeEndpoint(t)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = endpoint
	exp := startExporter(t, NewFactory(), cfg)
	md := vppShaped(20, now())
	require.NoError(t, exp.ConsumeMetrics(context.Background(), md))

	done := make(chan error, 2)
	for range 2 {
		go func() {
			for range 20 {
				if err := exp.ConsumeMetrics(context.Background(), vppShaped(20, now())); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 20 {
		series := 0
		for _, f := range parse(t, scrape(t, endpoint)) {
			series += len(f.Series)
		}
		require.Equal(t, md.DataPointCount(), series)
	}
	for range 2 {
		require.NoError(t, <-done)
	}
}
