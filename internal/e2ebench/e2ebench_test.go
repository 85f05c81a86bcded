package main

import (
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestOverrideFile: --set style overrides become one nested YAML document,
// values parsed as YAML (lists, numbers), several keys under one parent.
func TestOverrideFile(t *testing.T) {
	path, err := overrideFile(t.TempDir(), []string{
		"receivers::vppstats::socket_path=/tmp/x/stats.sock",
		"receivers::vppstats::stale_after=0",
		"service::pipelines::metrics::processors=[memory_limiter,batch]",
		"exporters::otlp_grpc::endpoint=127.0.0.1:4317",
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
		Exporters map[string]map[string]string `yaml:"exporters"`
		Service   struct {
			Pipelines map[string]map[string][]string `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v in:\n%s", err, raw)
	}
	if got.Receivers.Vppstats.SocketPath != "/tmp/x/stats.sock" || got.Receivers.Vppstats.StaleAfter != 0 ||
		got.Exporters["otlp_grpc"]["endpoint"] != "127.0.0.1:4317" ||
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
