package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vppstats/vppstats/internal/testutil"
)

// TestShippedPrometheusConfig runs config/prometheus.yaml itself (only the
// socket, the listen addresses and the interval changed) on the replayed
// v26.06 capture, and checks its /metrics against VPP's dump: the shipped
// exporter (prometheus_text) with its shipped settings, resource attributes
// as labels and no otel_scope_* labels.
func TestShippedPrometheusConfig(t *testing.T) {
	otelcol, vppstat := binaries(t)
	seg := repoPath(t, "testdata", "vpp", capture+".seg.gz")
	dump := testutil.ReadDump(t, repoPath(t, "testdata", "vpp", capture+".dump.txt.gz"))
	dir := shortTempDir(t)
	sock := filepath.Join(dir, "stats.sock")
	serveReplay(t, vppstat, sock, seg)

	shipped, err := os.ReadFile(repoPath(t, "config", "prometheus.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	promPort, healthPort := freePort(t), freePort(t)
	cfg := string(shipped)
	for old, new := range map[string]string{
		"socket_path: /run/vpp/stats.sock": "socket_path: " + sock,
		"endpoint: 0.0.0.0:9482":           fmt.Sprintf("endpoint: 127.0.0.1:%d", promPort),
		"endpoint: 127.0.0.1:13133":        fmt.Sprintf("endpoint: 127.0.0.1:%d", healthPort),
		"collection_interval: 15s":         "collection_interval: 500ms",
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf("config/prometheus.yaml no longer contains %q; update this test", old)
		}
		cfg = strings.Replace(cfg, old, new, 1)
	}
	path := writeConfig(t, dir, "prometheus.yaml", cfg)
	start(t, "otelcol-vpp", []string{"VPP_INSTANCE=e2e"}, otelcol, "--config", path)

	page := checkPrometheus(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort), dump)
	if !strings.Contains(page, `vpp_instance="e2e"`) {
		t.Errorf("no vpp_instance label from resource_to_telemetry_conversion on /metrics")
	}
	if strings.Contains(page, "otel_scope_name=") {
		t.Errorf("otel_scope_name label on /metrics despite without_scope_info")
	}
}
