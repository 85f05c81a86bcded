package main

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"gopkg.in/yaml.v3"
)

// TestOverrideFile: --set style overrides become one nested YAML document,
// values parsed as YAML (lists, numbers), several keys under one parent.
func TestOverrideFile(t *testing.T) {
	path, err := overrideFile(t.TempDir(), []string{
		"receivers::vppstats::socket_path=/tmp/x/stats.sock",
		"receivers::vppstats::stale_after=0",
		"service::pipelines::metrics::processors=[memory_limiter,batch]",
		"exporters::otlp_http::endpoint=http://127.0.0.1:4318",
		"exporters::otlp_http::compression_params::level=6",
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Receivers struct {
			Vppstats struct {
				SocketPath string `yaml:"socket_path"`
				StaleAfter int    `yaml:"stale_after"`
			} `yaml:"vppstats"`
		} `yaml:"receivers"`
		Exporters map[string]map[string]any `yaml:"exporters"`
		Service   struct {
			Pipelines map[string]map[string][]string `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v in:\n%s", err, raw)
	}
	params, _ := got.Exporters["otlp_http"]["compression_params"].(map[string]any)
	if got.Receivers.Vppstats.SocketPath != "/tmp/x/stats.sock" || got.Receivers.Vppstats.StaleAfter != 0 ||
		got.Exporters["otlp_http"]["endpoint"] != "http://127.0.0.1:4318" ||
		params["level"] != 6 ||
		len(got.Service.Pipelines["metrics"]["processors"]) != 2 {
		t.Errorf("overrides file:\n%s", raw)
	}
	if _, err := overrideFile(t.TempDir(), []string{"no-equals-sign"}); err == nil {
		t.Error("an override without '=' was accepted")
	}
}

// TestGetMetrics counts samples, not comments, of a gzipped page and
// reports both sizes.
func TestGetMetrics(t *testing.T) {
	page := "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 2\n\nb 3\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding %q, want gzip", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write([]byte(page))
		_ = zw.Close()
	}))
	defer srv.Close()
	pg, err := getMetrics(&http.Client{Transport: &http.Transport{DisableCompression: true}}, srv.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	if pg.series != 3 || pg.text != int64(len(page)) || pg.wire == 0 || pg.wire == pg.text {
		t.Errorf("got %+v, want 3 series, %d bytes decoded, a different wire size", pg, len(page))
	}
}

// TestReadUsage reads this process's own CPU and memory.
func TestReadUsage(t *testing.T) {
	u, err := readUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.rss <= 0 || u.hwm < u.rss {
		t.Errorf("rss %d, peak %d", u.rss, u.hwm)
	}
}

// TestSinkHTTP posts OTLP/HTTP requests in each codec the otlp_http exporter
// offers and checks what the sink counts, and that a body over the
// Collector's 20 MiB default is refused once decoded, however small on the
// wire.
func TestSinkHTTP(t *testing.T) {
	s, err := startSink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	url := s.endpoints["otlp_http"] + "/v1/metrics"

	md := pmetric.NewMetrics()
	g := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge()
	for i := range 3 {
		g.DataPoints().AppendEmpty().SetIntValue(int64(i))
	}
	raw, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	post := func(enc string, body []byte) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		if enc != "" {
			req.Header.Set("Content-Encoding", enc)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var wire int64
	for enc, compress := range map[string]func([]byte) []byte{
		"": func(b []byte) []byte { return b }, "gzip": gzipBytes, "zstd": zstdBytes, "snappy": func(b []byte) []byte { return snappy.Encode(nil, b) },
	} {
		body := compress(raw)
		wire += int64(len(body))
		if code := post(enc, body); code != http.StatusOK {
			t.Errorf("Content-Encoding %q: status %d", enc, code)
		}
	}
	if s.points.Load() != 12 || s.exports.Load() != 4 || s.raw.Load() != 4*int64(len(raw)) || s.wire.Load() != wire || s.refused.Load() != 0 {
		t.Errorf("points %d exports %d raw %d wire %d refused %d; want 12, 4, %d, %d, 0",
			s.points.Load(), s.exports.Load(), s.raw.Load(), s.wire.Load(), s.refused.Load(), 4*len(raw), wire)
	}

	// A valid request, so that only its size can make the sink refuse it.
	bigMD := pmetric.NewMetrics()
	bigMD.ResourceMetrics().AppendEmpty().Resource().Attributes().PutStr("padding", strings.Repeat("a", maxHTTPBody))
	big, err := pmetricotlp.NewExportRequestFromMetrics(bigMD).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	for enc, body := range map[string][]byte{"gzip": gzipBytes(big), "zstd": zstdBytes(big), "snappy": snappy.Encode(nil, big)} {
		if code := post(enc, body); code != http.StatusBadRequest {
			t.Errorf("a %s body of %d bytes decoded (%d sent): status %d, want 400", enc, len(big), len(body), code)
		}
	}
	if code := post("br", raw); code != http.StatusBadRequest {
		t.Errorf("an unknown Content-Encoding: status %d, want 400", code)
	}
	if s.refused.Load() != 4 || s.points.Load() != 12 {
		t.Errorf("refused %d, points %d after the bad requests; want 4, 12", s.refused.Load(), s.points.Load())
	}
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func zstdBytes(b []byte) []byte {
	zw, _ := zstd.NewWriter(nil)
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

// TestCollectorArgs points every OTLP exporter of the file (the collector
// validates unused ones too) and any a job adds at the sink that speaks its
// protocol, and a pull job's exporter at a free port.
func TestCollectorArgs(t *testing.T) {
	s := &otlpSink{endpoints: map[string]string{"otlp_grpc": "127.0.0.1:1", "otlp_http": "http://127.0.0.1:2"}}
	e := &env{configDir: filepath.Join("..", "..", "config"), sink: s, tmp: t.TempDir()}
	in := input{name: "x", interval: time.Second}
	for _, c := range []struct {
		job  job
		want map[string]string // exporter -> endpoint prefix
	}{
		{job{config: otlpConfig, via: viaSink}, map[string]string{"otlp_http": "http://127.0.0.1:2"}},
		{job{config: otlpConfig, sets: receiverAlone, via: viaDebug}, map[string]string{"otlp_http": "http://127.0.0.1:2"}},
		{job{config: otlpConfig, sets: previousOTLP, via: viaSink}, map[string]string{"otlp_grpc": "127.0.0.1:1", "otlp_http": "http://127.0.0.1:2"}},
		{job{config: promConfig, via: viaPull}, map[string]string{"prometheus_text": "127.0.0.1:"}},
	} {
		args, url, err := e.collectorArgs(in, "/tmp/stats.sock", c.job)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(args[len(args)-1])
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Exporters map[string]struct {
				Endpoint string `yaml:"endpoint"`
			} `yaml:"exporters"`
		}
		if err := yaml.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		withEndpoint := 0
		for _, x := range got.Exporters {
			if x.Endpoint != "" {
				withEndpoint++
			}
		}
		ok := withEndpoint == len(c.want)
		for id, prefix := range c.want {
			ok = ok && strings.HasPrefix(got.Exporters[id].Endpoint, prefix) && len(got.Exporters[id].Endpoint) > len("127.0.0.1:")
		}
		if !ok {
			t.Errorf("%s %v: exporters %+v, want endpoints %v", c.job.config, c.job.sets, got.Exporters, c.want)
		}
		if (c.job.via == viaPull) != (url != "") {
			t.Errorf("%s: /metrics URL %q", c.job.config, url)
		}
	}
}
