package e2e

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/vppstats/vppstats/internal/testutil"
)

// TestOTLPYAMLOverHTTPS runs the shipped config/otlp.yaml (only socket,
// interval and ports overridden) on a replayed VPP capture into an HTTPS
// OTLP/HTTP sink: an https:// OTLP_ENDPOINT works with nothing but the
// system's CAs (here the sink's certificate as SSL_CERT_FILE, which Go
// reads as the system pool), every request is gzip, none is refused, and
// the points match VPP's own dump of the segment.
func TestOTLPYAMLOverHTTPS(t *testing.T) {
	otelcol, vppstat := binaries(t)
	seg := repoPath(t, "testdata", "vpp", capture+".seg.gz")
	dump := testutil.ReadDump(t, repoPath(t, "testdata", "vpp", capture+".dump.txt.gz"))

	dir := shortTempDir(t)
	sock := filepath.Join(dir, "stats.sock")
	serveReplay(t, vppstat, sock, seg)
	sink, url, cert := startHTTPSink(t, true)
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	override := writeConfig(t, dir, "override.yaml", fmt.Sprintf(`
receivers:
  vppstats:
    socket_path: %s
    collection_interval: 500ms
processors:
  batch:
    timeout: 100ms
extensions:
  health_check:
    endpoint: 127.0.0.1:%d
service:`+serviceTelemetry, sock, freePort(t)))
	col := start(t, "otelcol-vpp", []string{"OTLP_ENDPOINT=" + url, "SSL_CERT_FILE=" + ca, "VPP_INSTANCE=e2e"},
		otelcol, "--config", repoPath(t, "config", "otlp.yaml"), "--config", override)

	var ps []point
	waitFor(t, 60*time.Second, "two scrapes at the OTLP/HTTP sink", func() (bool, string) {
		ps, _ = sink.snapshot()
		times := map[pcommon.Timestamp]bool{}
		for _, p := range ps {
			if p.metric == "vpp.interface.packets" {
				times[p.ts] = true
			}
		}
		enc, refused := sink.requests()
		return len(times) >= 2, fmt.Sprintf("%d points, %d scrapes with vpp.interface.packets, requests %v, refused %q", len(ps), len(times), enc, refused)
	}, col)
	col.stop(t)

	enc, refused := sink.requests()
	if len(refused) > 0 {
		t.Errorf("the sink refused %d requests, e.g. %s", len(refused), refused[0])
	}
	if len(enc) != 1 || enc["gzip"] == 0 {
		t.Errorf("requests per Content-Encoding %v, want gzip only", enc)
	}
	checkPoints(t, dump, ps, latest(ps))
	if host := ps[0].res["host.name"]; host == nil || host == "" {
		t.Errorf("resource %v has no host.name: resource_detection did not run", ps[0].res)
	}
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
