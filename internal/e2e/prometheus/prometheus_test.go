package prometheus

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vppstats/vppstats/internal/testutil"
)

// capture is a real VPP v26.06 segment with traffic on loop0 (index 1),
// and VPP's own `vpp_get_stats dump` of it.
const (
	capture     = "testdata/vpp/v26.06/a.seg.gz"
	captureDump = "testdata/vpp/v26.06/a.dump.txt.gz"
	loop0Index  = 1
)

// TestPrometheusScrapesOtelcolVPP: vppstat serves the capture, otelcol-vpp
// runs config/prometheus.yaml against it (only the socket, the listen
// addresses and the interval overridden), a Prometheus server scrapes it
// every second, and Prometheus's query API must give loop0's received
// packets and bytes equal to VPP's dump.
func TestPrometheusScrapesOtelcolVPP(t *testing.T) {
	bins := binaries(t, "PROMETHEUS_BIN", "OTELCOL_VPP_BIN", "VPPSTAT_BIN")
	prom, otelcol, vppstat := bins[0], bins[1], bins[2]
	dir := shortTempDir(t)

	wantPackets, wantBytes, ok := testutil.ReadDump(t, repoPath(t, captureDump)).SumThreads("/if/rx", loop0Index)
	if !ok {
		t.Fatalf("%s: no /if/rx line for index %d", captureDump, loop0Index)
	}
	if wantPackets == 0 {
		t.Fatalf("%s: loop0 received no packets: the check would prove nothing", captureDump)
	}

	sock := filepath.Join(dir, "stats.sock")
	serve := start(t, "vppstat serve", vppstat, "serve", "--socket", sock, "--replay", repoPath(t, capture))
	waitFor(t, 30*time.Second, "stats socket", func() (bool, string) {
		c, err := net.DialTimeout("unixpacket", sock, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	}, serve)

	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	shipped := repoPath(t, "config", "prometheus.yaml")
	overrides := filepath.Join(dir, "overrides.yaml")
	writeFile(t, overrides, fmt.Sprintf(`receivers:
  vppstats:
    socket_path: %s
    collection_interval: 1s
exporters:
  %s:
    endpoint: %s
extensions:
  health_check:
    endpoint: 127.0.0.1:%d
service:
  telemetry:
    metrics:
      level: none
`, sock, scrapeExporter(t, shipped), metricsAddr, freePort(t)))
	collector := start(t, "otelcol-vpp", otelcol, "--config", shipped, "--config", overrides)

	promAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	promConfig := filepath.Join(dir, "prometheus.yml")
	writeFile(t, promConfig, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: otelcol-vpp
    static_configs:
      - targets: [%q]
`, metricsAddr))
	server := start(t, "prometheus", prom, "--config.file="+promConfig, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--log.level=warn")

	for _, c := range []struct {
		query string
		want  uint64
	}{
		{`vpp_interface_packets_total{network_interface_name="loop0",network_io_direction="receive"}`, wantPackets},
		{`vpp_interface_io_bytes_total{network_interface_name="loop0",network_io_direction="receive"}`, wantBytes},
	} {
		var got string
		waitFor(t, 60*time.Second, "Prometheus to have "+c.query, func() (bool, string) {
			vals, err := query(promAddr, c.query)
			switch {
			case err != nil:
				return false, err.Error()
			case len(vals) == 0:
				return false, "no sample yet"
			case len(vals) > 1:
				t.Fatalf("%s: %d series, want 1: %v", c.query, len(vals), vals)
			}
			got = vals[0]
			return true, ""
		}, serve, collector, server)
		if got != strconv.FormatUint(c.want, 10) {
			t.Errorf("Prometheus: %s = %s, VPP's dump of the segment has %d", c.query, got, c.want)
		}
	}
}

// scrapeExporter returns the id of the one exporter of the configuration's
// metrics pipeline that has an endpoint: the scrape endpoint, whatever
// exporter serves it.
func scrapeExporter(t *testing.T, config string) string {
	t.Helper()
	raw, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Exporters map[string]map[string]any `yaml:"exporters"`
		Service   struct {
			Pipelines map[string]struct {
				Exporters []string `yaml:"exporters"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("%s: %v", config, err)
	}
	var ids []string
	for _, id := range cfg.Service.Pipelines["metrics"].Exporters {
		if _, ok := cfg.Exporters[id]["endpoint"]; ok {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%s: want one exporter with an endpoint in the metrics pipeline, have %v", config, ids)
	}
	return ids[0]
}

// query runs an instant query and returns the values of its vector result.
func query(addr, q string) ([]string, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %s: %s: %w", q, resp.Status, err)
	}
	if body.Status != "success" || body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: status %q, result type %q, error %q", q, body.Status, body.Data.ResultType, body.Error)
	}
	var vals []string
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		vals = append(vals, s)
	}
	return vals, nil
}

// binaries returns the absolute paths named by the environment variables,
// skipping the test when one is missing (failing it under CI=true).
func binaries(t *testing.T, envs ...string) []string {
	t.Helper()
	var paths, missing []string
	for _, env := range envs {
		p := os.Getenv(env)
		if p != "" && !filepath.IsAbs(p) {
			p = repoPath(t, p) // given from the repository root
		}
		if st, err := os.Stat(p); p == "" || err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, fmt.Sprintf("%s=%q is not an executable file", env, os.Getenv(env)))
		}
		paths = append(paths, p)
	}
	if len(missing) > 0 {
		msg := "the binaries are not built (" + strings.Join(missing, "; ") + "); run `make prometheus-e2e`, which builds them and sets these variables"
		if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return paths
}

func repoPath(t *testing.T, elem ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"..", "..", ".."}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// shortTempDir is a temporary directory with a path short enough for a
// unix socket (t.TempDir() paths can pass the 108-byte limit).
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "prom-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a child process; the test's cleanup stops it and, if the test
// failed, logs the end of its output.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func start(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	f, err := os.CreateTemp(t.TempDir(), "out-*")
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			t.Errorf("%s did not stop within 15s of SIGTERM; killing it", name)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		f.Close()
		if t.Failed() {
			out, _ := os.ReadFile(f.Name())
			if len(out) > 8000 {
				out = out[len(out)-8000:]
			}
			t.Logf("end of %s's output (%s):\n%s", name, strings.Join(p.cmd.Args, " "), out)
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitFor polls cond every 200 ms until it holds; the processes in watch
// must stay alive meanwhile.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string), watch ...*proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		for _, p := range watch {
			if p.exited() {
				t.Fatalf("waiting for %s: %s exited (%v); last state: %s", what, p.name, p.cmd.ProcessState, why)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not after %v: %s", what, timeout, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
