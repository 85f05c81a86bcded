package promtextexporter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// A setting is one exporter configuration, applied alike to the contrib
// prometheus exporter and to ours.
type setting struct {
	name             string
	withoutScopeInfo bool
	noSuffixes       bool
	resourceLabels   bool
	excludeService   bool
	namespace        string
	constLabels      map[string]string
}

var settings = []setting{
	{name: "defaults"},
	{name: "without_scope_info", withoutScopeInfo: true},
	{name: "without_suffixes", noSuffixes: true},
	{name: "resource_to_telemetry", resourceLabels: true},
	{name: "resource_to_telemetry_excluding_service", resourceLabels: true, excludeService: true, withoutScopeInfo: true},
	{name: "namespace_and_const_labels", namespace: "edge", constLabels: map[string]string{"site": "lab \"1\""}},
}

func (s setting) contrib(endpoint string) *prometheusexporter.Config {
	cfg := prometheusexporter.NewFactory().CreateDefaultConfig().(*prometheusexporter.Config)
	cfg.ServerConfig.NetAddr.Endpoint = endpoint
	cfg.WithoutScopeInfo = s.withoutScopeInfo
	if s.noSuffixes {
		cfg.TranslationStrategy = "UnderscoreEscapingWithoutSuffixes"
	}
	cfg.ResourceToTelemetrySettings.Enabled = s.resourceLabels
	cfg.ResourceToTelemetrySettings.ExcludeServiceAttributes = s.excludeService
	cfg.Namespace = s.namespace
	cfg.ConstLabels = s.constLabels
	return cfg
}

func (s setting) ours(endpoint string) *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = endpoint
	cfg.WithoutScopeInfo = s.withoutScopeInfo
	if s.noSuffixes {
		cfg.TranslationStrategy = "UnderscoreEscapingWithoutSuffixes"
	}
	cfg.ResourceToTelemetrySettings.Enabled = s.resourceLabels
	cfg.ResourceToTelemetrySettings.ExcludeServiceAttributes = s.excludeService
	cfg.Namespace = s.namespace
	cfg.ConstLabels = s.constLabels
	return cfg
}

// startExporter creates and starts an exporter of the factory on endpoint;
// Cleanup shuts it down.
func startExporter(tb testing.TB, f exporter.Factory, cfg component.Config) exporter.Metrics {
	tb.Helper()
	require.NoError(tb, cfg.(interface{ Validate() error }).Validate())
	exp, err := f.CreateMetrics(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	require.NoError(tb, err)
	require.NoError(tb, exp.Start(context.Background(), componenttest.NewNopHost()))
	tb.Cleanup(func() { require.NoError(tb, exp.Shutdown(context.Background())) })
	return exp
}

// scrape GETs http://endpoint/metrics (gzip negotiated by Go's client, as
// Prometheus negotiates it) and returns the body.
func scrape(tb testing.TB, endpoint string) []byte {
	tb.Helper()
	resp, err := http.Get("http://" + endpoint + "/metrics")
	require.NoError(tb, err)
	defer resp.Body.Close()
	require.Equal(tb, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return body
}

// parsed is an exposition as Prometheus's text parser reads it: per family,
// its type and help, and per series (labels in name order) its samples.
type parsed map[string]parsedFamily

type parsedFamily struct {
	Type, Help string
	Series     map[string]string
}

func parse(tb testing.TB, text []byte) parsed {
	tb.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(text)))
	require.NoError(tb, err, "Prometheus's text parser rejected the exposition")
	out := parsed{}
	for name, mf := range mfs {
		f := parsedFamily{Type: mf.GetType().String(), Help: mf.GetHelp(), Series: map[string]string{}}
		for _, m := range mf.Metric {
			key := labelsKey(m.Label)
			_, dup := f.Series[key]
			require.False(tb, dup, "duplicate series %s%s", name, key)
			f.Series[key] = samples(m)
		}
		out[name] = f
	}
	return out
}

func labelsKey(ls []*dto.LabelPair) string {
	parts := make([]string, 0, len(ls))
	for _, l := range ls {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

func samples(m *dto.Metric) string {
	switch {
	case m.Counter != nil:
		return fmt.Sprint(m.Counter.GetValue())
	case m.Gauge != nil:
		return fmt.Sprint(m.Gauge.GetValue())
	case m.Untyped != nil:
		return fmt.Sprint(m.Untyped.GetValue())
	case m.Histogram != nil:
		s := fmt.Sprintf("count=%d sum=%v", m.Histogram.GetSampleCount(), m.Histogram.GetSampleSum())
		for _, b := range m.Histogram.Bucket {
			s += fmt.Sprintf(" le%v=%d", b.GetUpperBound(), b.GetCumulativeCount())
		}
		return s
	case m.Summary != nil:
		s := fmt.Sprintf("count=%d sum=%v", m.Summary.GetSampleCount(), m.Summary.GetSampleSum())
		for _, q := range m.Summary.Quantile {
			s += fmt.Sprintf(" q%v=%v", q.GetQuantile(), q.GetValue())
		}
		return s
	}
	return "no value"
}

// TestSameSeriesAsContrib feeds the same pdata to the contrib prometheus
// exporter (v0.159.0) and to prometheus_text under each setting and checks,
// after parsing both with Prometheus's text parser, that every family has
// the same type and help and every series the same labels and samples.
func TestSameSeriesAsContrib(t *testing.T) {
	ts := now()
	inputs := map[string]pmetric.Metrics{
		"vpp-shaped": vppShaped(50, ts),
		"edge-cases": edgeCases(ts),
	}
	for _, s := range settings {
		for inName, md := range inputs {
			t.Run(s.name+"/"+inName, func(t *testing.T) {
				theirAddr, ourAddr := freeEndpoint(t), freeEndpoint(t)
				theirs := startExporter(t, prometheusexporter.NewFactory(), s.contrib(theirAddr))
				ours := startExporter(t, NewFactory(), s.ours(ourAddr))
				for _, exp := range []exporter.Metrics{theirs, ours} {
					in := pmetric.NewMetrics()
					md.CopyTo(in)
					require.NoError(t, exp.ConsumeMetrics(context.Background(), in))
				}
				want, got := parse(t, scrape(t, theirAddr)), parse(t, scrape(t, ourAddr))
				require.NotEmpty(t, want)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("prometheus_text differs from the contrib prometheus exporter (-contrib +ours):\n%s", diff)
				}
			})
		}
	}
}

// TestUpdatesAndExpiry checks that a later scrape replaces values, an older
// point does not, a point flagged "no recorded value" removes its series,
// and series not updated within metric_expiration disappear.
func TestUpdatesAndExpiry(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.MetricExpiration = time.Minute
	s := newStore(cfg, componenttest.NewNopTelemetrySettings().Logger)
	t0 := time.Now()
	text := func(at time.Time) parsed { return parse(t, s.appendText(nil, at)) }

	s.consume(vppShaped(2, 100), t0)
	first := text(t0)
	require.Equal(t, "0", first["vpp_interface_packets_total"].Series[`{network_interface_name="GigabitEthernet0/0/0.0",network_io_direction="receive",otel_scope_name="github.com/vppstats/vppstats/vppstatsreceiver",otel_scope_schema_url="",otel_scope_version="0.1.0-dev",vpp_interface_index="0"}`])

	later := vppShaped(2, 200)
	dp := later.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
	dp.SetIntValue(777)
	s.consume(later, t0.Add(time.Second))
	require.Equal(t, "777", text(t0.Add(time.Second))["vpp_interface_packets_total"].Series[`{network_interface_name="GigabitEthernet0/0/0.0",network_io_direction="receive",otel_scope_name="github.com/vppstats/vppstats/vppstatsreceiver",otel_scope_schema_url="",otel_scope_version="0.1.0-dev",vpp_interface_index="0"}`])

	older := vppShaped(2, 150)
	s.consume(older, t0.Add(2*time.Second))
	require.Equal(t, "777", text(t0.Add(2 * time.Second))["vpp_interface_packets_total"].Series[`{network_interface_name="GigabitEthernet0/0/0.0",network_io_direction="receive",otel_scope_name="github.com/vppstats/vppstats/vppstatsreceiver",otel_scope_schema_url="",otel_scope_version="0.1.0-dev",vpp_interface_index="0"}`], "an older point replaced a newer one")

	gone := vppShaped(2, 300)
	dp = gone.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
	dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
	s.consume(gone, t0.Add(3*time.Second))
	got := text(t0.Add(3 * time.Second))["vpp_interface_packets_total"].Series
	require.Len(t, got, 3, "the series with no recorded value is still served")

	// Only one interface keeps reporting; the other expires.
	one := vppShaped(1, 400)
	s.consume(one, t0.Add(50*time.Second))
	at := t0.Add(90 * time.Second)
	require.Len(t, text(at)["vpp_interface_packets_total"].Series, 2)
	s.expire(at)
	require.Len(t, text(at)["vpp_interface_packets_total"].Series, 2)
	for _, f := range s.sorted {
		require.LessOrEqual(t, len(f.list), len(f.series), "expire kept removed series of %s", f.name)
	}
	s.expire(t0.Add(10 * time.Minute))
	require.Empty(t, s.appendText(nil, t0.Add(10*time.Minute)))
	require.Empty(t, s.families)
}

// TestSeriesIdentity checks that a series is its labels: attributes in
// another order find the same series (one line, the latest value), and the
// same attributes under another resource (resource_to_telemetry) are
// another series.
func TestSeriesIdentity(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ResourceToTelemetrySettings.Enabled = true
	cfg.WithoutScopeInfo = true
	s := newStore(cfg, componenttest.NewNopTelemetrySettings().Logger)
	md := pmetric.NewMetrics()
	for i, inst := range []string{"a", "b", "a"} {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("vpp.instance", inst)
		g := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		g.SetName("g")
		dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(10)
		dp.SetIntValue(int64(i))
		if i == 2 { // same labels as the first, attributes the other way round
			dp.Attributes().PutStr("y", "2")
			dp.Attributes().PutStr("x", "1")
		} else {
			dp.Attributes().PutStr("x", "1")
			dp.Attributes().PutStr("y", "2")
		}
	}
	s.consume(md, timeNow())
	s.consume(md, timeNow())
	got := parse(t, s.appendText(nil, timeNow()))["g"].Series
	require.Equal(t, map[string]string{
		`{vpp_instance="a",x="1",y="2"}`: "2",
		`{vpp_instance="b",x="1",y="2"}`: "1",
	}, got)
	require.Len(t, s.families["g"].list, 2)
	require.Len(t, s.families["g"].byKey, 3, "the reordered attributes are an alias of the first series")
}

// TestDeltaSum checks that a monotonic delta sum accumulates into a counter
// while each point continues the previous one (start == previous time), and
// restarts from the point's value when it does not, as the contrib
// exporter's accumulator does.
func TestDeltaSum(t *testing.T) {
	s := newStore(NewFactory().CreateDefaultConfig().(*Config), componenttest.NewNopTelemetrySettings().Logger)
	point := func(start, ts int64, v int64) pmetric.Metrics {
		md := pmetric.NewMetrics()
		m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("requests")
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		dp := sum.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(pcommon.Timestamp(start))
		dp.SetTimestamp(pcommon.Timestamp(ts))
		dp.SetIntValue(v)
		return md
	}
	value := func() string {
		got := parse(t, s.appendText(nil, timeNow()))["requests_total"]
		require.Equal(t, "COUNTER", got.Type)
		return got.Series[`{otel_scope_name="",otel_scope_schema_url="",otel_scope_version=""}`]
	}
	s.consume(point(0, 10, 5), timeNow())
	require.Equal(t, "5", value())
	s.consume(point(10, 20, 3), timeNow())
	require.Equal(t, "8", value())
	s.consume(point(20, 30, 4), timeNow())
	require.Equal(t, "12", value())
	s.consume(point(100, 110, 2), timeNow()) // a gap: restart
	require.Equal(t, "2", value())
}
