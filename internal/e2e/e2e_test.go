package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // the OTLP exporter compresses with gzip by default

	"github.com/vppstats/vppstats/internal/testutil"
)

const capture = "v26.06/a"

// otlpSink is an OTLP/gRPC metrics server that keeps what it receives.
type otlpSink struct {
	pmetricotlp.UnimplementedGRPCServer
	mu     sync.Mutex
	points []point
	calls  int
}

func (s *otlpSink) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	ps := flatten(req.Metrics())
	s.mu.Lock()
	s.points = append(s.points, ps...)
	s.calls++
	s.mu.Unlock()
	return pmetricotlp.NewExportResponse(), nil
}

func (s *otlpSink) snapshot() ([]point, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]point(nil), s.points...), s.calls
}

// startSink serves an otlpSink on a free localhost port.
func startSink(t *testing.T) (*otlpSink, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	sink := &otlpSink{}
	pmetricotlp.RegisterGRPCServer(srv, sink)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return sink, l.Addr().String()
}

// TestReplay serves a real VPP v26.06 capture and checks what otelcol-vpp
// exports through the file, Prometheus and OTLP exporters against VPP's own
// dump of the same segment.
func TestReplay(t *testing.T) {
	otelcol, vppstat := binaries(t)
	seg := repoPath(t, "testdata", "vpp", capture+".seg.gz")
	dump := testutil.ReadDump(t, repoPath(t, "testdata", "vpp", capture+".dump.txt.gz"))

	dir := shortTempDir(t)
	sock := filepath.Join(dir, "stats.sock")
	out := filepath.Join(dir, "metrics.json")
	promPort, textPort := freePort(t), freePort(t)
	sink, sinkAddr := startSink(t)

	serveReplay(t, vppstat, sock, seg)
	cfg := writeConfig(t, dir, "config.yaml", fmt.Sprintf(`
receivers:
  vppstats:
    socket_path: %s
    collection_interval: 500ms
    instance: e2e
    # Every node, idle ones too: the two Prometheus exporters are compared
    # on a page of over 1,000 lines.
    nodes:
      include_idle: true
exporters:
  file:
    path: %s
    format: json
    flush_interval: 100ms
  prometheus:
    endpoint: 127.0.0.1:%d
  prometheus_text:
    endpoint: 127.0.0.1:%d
  otlp_grpc:
    endpoint: %s
    tls:
      insecure: true
service:
  pipelines:
    metrics:
      receivers: [vppstats]
      exporters: [file, prometheus, prometheus_text, otlp_grpc]
`+serviceTelemetry, sock, out, promPort, textPort, sinkAddr))
	col := start(t, "otelcol-vpp", nil, otelcol, "--config", cfg)

	// Wait for two scrapes in the file.
	var filePoints []point
	waitFor(t, 60*time.Second, "two scrapes in the file exporter's output", func() (bool, string) {
		ps, err := readFileExport(out)
		if err != nil {
			return false, err.Error()
		}
		times := map[pcommon.Timestamp]bool{}
		for _, p := range ps {
			if p.metric == "vpp.interface.packets" {
				times[p.ts] = true
			}
		}
		filePoints = ps
		return len(times) >= 2, fmt.Sprintf("%d points, %d scrapes with vpp.interface.packets", len(ps), len(times))
	}, col)
	newest := latest(filePoints)

	t.Run("file", func(t *testing.T) {
		checkPoints(t, dump, filePoints, newest)
	})

	t.Run("prometheus", func(t *testing.T) {
		checkPrometheus(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort), dump)
	})

	t.Run("prometheus_text", func(t *testing.T) {
		ours := checkPrometheus(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", textPort), dump)
		theirs := checkPrometheus(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort), dump)
		sameExposition(t, theirs, ours)
	})

	t.Run("otlp", func(t *testing.T) {
		var got []point
		waitFor(t, 30*time.Second, "OTLP exports at the sink", func() (bool, string) {
			var calls int
			got, calls = sink.snapshot()
			return len(find(latest(got), "vpp.interface.packets", nil)) > 0, fmt.Sprintf("%d exports, %d points", calls, len(got))
		}, col)
		gotLatest := latest(got)
		// Same series as the file exporter got, and the same values (the
		// replayed segment does not change).
		var missing, differ []string
		for k, p := range newest {
			q, ok := gotLatest[k]
			switch {
			case !ok:
				missing = append(missing, k)
			case p.metric != "vpp.uptime" && (p.value != q.value || p.start != q.start):
				differ = append(differ, fmt.Sprintf("file: %v; otlp: %v", p, q))
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%d of %d series of the file exporter never reached the OTLP sink, e.g. %v", len(missing), len(newest), missing[:min(5, len(missing))])
		}
		if len(differ) > 0 {
			t.Errorf("%d series differ between the file exporter and the OTLP sink, e.g.\n%s", len(differ), strings.Join(differ[:min(5, len(differ))], "\n"))
		}
		if len(gotLatest) != len(newest) {
			t.Errorf("OTLP sink has %d series, file exporter %d", len(gotLatest), len(newest))
		}
		checkLoop0(t, dump, gotLatest)
	})
}

// checkPoints checks the exported points of capture against VPP's dump.
func checkPoints(t *testing.T, dump *testutil.Dump, all []point, newest map[string]point) {
	t.Helper()
	names := metricNames(all)
	// Every metric on by default whose source is in the dump must be there.
	sources := map[string]string{
		"vpp.interface.packets":   "/if/rx",
		"vpp.interface.io":        "/if/tx",
		"vpp.interface.drops":     "/if/drops",
		"vpp.node.calls":          "/sys/node/calls",
		"vpp.node.vectors":        "/sys/node/vectors",
		"vpp.node.clocks":         "/sys/node/clocks",
		"vpp.memory.heap.usage":   "/mem/stat segment/used",
		"vpp.memory.heap.size":    "/mem/stat segment/total",
		"vpp.buffer_pool.buffers": "/buffer-pools/default-numa-0/available",
		"vpp.vector.rate":         "/sys/vector_rate",
		"vpp.input.rate":          "/sys/input_rate",
		"vpp.worker.count":        "/sys/num_worker_threads",
		"vpp.worker.vector.rate":  "/sys/vector_rate_per_worker",
		"vpp.worker.loop.rate":    "/sys/loops_per_worker",
	}
	var absent []string
	for m, src := range sources {
		_, s := dump.Scalars[src]
		if (dump.HasCounter(src) || s) && !names[m] {
			absent = append(absent, fmt.Sprintf("%s (VPP has %s)", m, src))
		}
	}
	sort.Strings(absent)
	if len(absent) > 0 {
		t.Errorf("metrics missing from the export: %s", strings.Join(absent, ", "))
	}
	// v26.02+ gauges.
	for _, m := range []string{"vpp.buffer_pool.buffers", "vpp.vector.rate"} {
		if !names[m] {
			t.Errorf("%s missing: the v26 gauge entries were not read", m)
		}
	}
	if want, ok := dump.Scalars["/buffer-pools/default-numa-0/available"]; ok {
		ps := find(newest, "vpp.buffer_pool.buffers", map[string]any{"vpp.buffer_pool.name": "default-numa-0", "vpp.buffer_pool.state": "available"})
		if len(ps) != 1 || ps[0].value != want {
			t.Errorf("vpp.buffer_pool.buffers{default-numa-0, available}: got %v, VPP's dump says %v", ps, want)
		}
	}
	if want, ok := dump.Scalars["/sys/vector_rate"]; ok {
		ps := find(newest, "vpp.vector.rate", nil)
		if len(ps) != 1 || ps[0].value != want {
			t.Errorf("vpp.vector.rate: got %v, VPP's dump says %v", ps, want)
		}
	}
	// Deleted interfaces are skipped.
	for _, p := range all {
		if p.attrs["network.interface.name"] == "deleted" {
			t.Errorf("point of a deleted interface: %v", p)
			break
		}
	}
	// Kinds: counters are monotonic cumulative sums, the rest gauges.
	for _, p := range newest {
		want := pmetric.MetricTypeGauge
		if _, isCounter := map[string]bool{"vpp.interface.packets": true, "vpp.interface.io": true, "vpp.node.calls": true, "vpp.node.vectors": true}[p.metric]; isCounter {
			want = pmetric.MetricTypeSum
		} else if strings.HasPrefix(p.metric, "vpp.interface.") || strings.HasPrefix(p.metric, "vpp.node.") {
			continue
		}
		if p.kind != want {
			t.Errorf("%s is a %v, want %v", p.metric, p.kind, want)
		}
	}
	// Resource attributes.
	for _, p := range all {
		if p.res["vpp.instance"] != "e2e" {
			t.Errorf("resource attributes %v lack vpp.instance=e2e", p.res)
		}
		break
	}
	checkLoop0(t, dump, newest)
}

// checkLoop0 compares loop0's receive counters with the sum over threads of
// /if/rx at index 1 in VPP's dump.
func checkLoop0(t *testing.T, dump *testutil.Dump, newest map[string]point) {
	t.Helper()
	wantPk, wantBy, ok := dump.SumThreads("/if/rx", 1)
	if !ok {
		t.Fatal("VPP's dump has no /if/rx at index 1 (loop0)")
	}
	if wantPk == 0 {
		t.Fatal("VPP's dump has 0 packets received on loop0: the capture does not test anything")
	}
	rx := map[string]any{"network.interface.name": "loop0", "network.io.direction": "receive"}
	for _, c := range []struct {
		metric string
		want   uint64
	}{{"vpp.interface.packets", wantPk}, {"vpp.interface.io", wantBy}} {
		ps := find(newest, c.metric, rx)
		if len(ps) != 1 {
			t.Errorf("%s{loop0, receive}: want 1 series (threads summed), got %d: %v", c.metric, len(ps), ps)
			continue
		}
		if idx := fmt.Sprint(ps[0].attrs["vpp.interface.index"]); idx != "1" {
			t.Errorf("%s{loop0}: vpp.interface.index = %s, want 1", c.metric, idx)
		}
		if !ps[0].isInt || uint64(ps[0].ivalue) != c.want {
			t.Errorf("%s{loop0, receive} = %v, VPP's dump sums to %d over threads", c.metric, ps[0], c.want)
			continue
		}
		t.Logf("%s{loop0, receive} = %d, as VPP's dump summed over threads", c.metric, c.want)
		if ps[0].start == 0 || ps[0].start > ps[0].ts {
			t.Errorf("%s{loop0}: start time %v, time %v", c.metric, ps[0].start, ps[0].ts)
		}
	}
}

var promType = regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)$`)

// checkPrometheus reads the Prometheus exporter's page while the collector
// runs.
func checkPrometheus(t *testing.T, url string, dump *testutil.Dump) (page string) {
	t.Helper()
	waitFor(t, 30*time.Second, "vpp_ families on "+url, func() (bool, string) {
		resp, err := http.Get(url)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return false, err.Error()
		}
		if resp.StatusCode != http.StatusOK {
			return false, resp.Status
		}
		page = string(b)
		return strings.Contains(page, "vpp_interface_packets_total{"), fmt.Sprintf("%d bytes, no vpp_interface_packets_total sample yet", len(b))
	})
	types := map[string]string{}
	for _, m := range promType.FindAllStringSubmatch(page, -1) {
		types[m[1]] = m[2]
	}
	for fam, want := range map[string]string{
		"vpp_interface_packets_total":  "counter",
		"vpp_interface_io_bytes_total": "counter",
		"vpp_node_calls_total":         "counter",
		"vpp_buffer_pool_buffers":      "gauge",
		"vpp_vector_rate":              "gauge",
	} {
		if got, ok := types[fam]; !ok {
			var have []string
			for f := range types {
				if strings.HasPrefix(f, "vpp_") {
					have = append(have, f)
				}
			}
			sort.Strings(have)
			t.Errorf("no # TYPE line for %s; vpp families: %v", fam, have)
		} else if got != want {
			t.Errorf("# TYPE %s %s, want %s", fam, got, want)
		}
	}
	for fam, typ := range types {
		if strings.HasPrefix(fam, "vpp_") && typ == "counter" && !strings.HasSuffix(fam, "_total") {
			t.Errorf("counter %s lacks the _total suffix", fam)
		}
	}
	// loop0's received packets.
	wantPk, _, _ := dump.SumThreads("/if/rx", 1)
	sample := regexp.MustCompile(`(?m)^vpp_interface_packets_total\{([^}]*)\} (\S+)`)
	found := false
	for _, m := range sample.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[1], `network_interface_name="loop0"`) || !strings.Contains(m[1], `network_io_direction="receive"`) {
			continue
		}
		found = true
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil || v != float64(wantPk) {
			t.Errorf("vpp_interface_packets_total{%s} = %s, want %d", m[1], m[2], wantPk)
		}
	}
	if !found {
		t.Errorf("no vpp_interface_packets_total sample for loop0/receive on %s", url)
	}
	return page
}

// TestSegmentRestart replaces the served segment (as a VPP restart does): the
// collector keeps running, logs one warning when the socket is gone and one
// line when it is back, and resumes with new start times.
func TestSegmentRestart(t *testing.T) {
	otelcol, vppstat := binaries(t)
	seg := repoPath(t, "testdata", "vpp", capture+".seg.gz")
	dir := shortTempDir(t)
	sock := filepath.Join(dir, "stats.sock")
	out := filepath.Join(dir, "metrics.json")

	vpp1 := serveReplay(t, vppstat, sock, seg)
	cfg := writeConfig(t, dir, "config.yaml", fmt.Sprintf(`
receivers:
  vppstats:
    socket_path: %s
    collection_interval: 300ms
    timeout: 2s
    stale_after: 0
exporters:
  file:
    path: %s
    format: json
    flush_interval: 100ms
service:
  pipelines:
    metrics:
      receivers: [vppstats]
      exporters: [file]
`+serviceTelemetry, sock, out))
	col := start(t, "otelcol-vpp", nil, otelcol, "--config", cfg)

	loop0 := map[string]any{"network.interface.name": "loop0", "network.io.direction": "receive"}
	var before point
	waitFor(t, 60*time.Second, "loop0 points from the first segment", func() (bool, string) {
		ps, err := readFileExport(out)
		if err != nil {
			return false, err.Error()
		}
		got := find(latest(ps), "vpp.interface.packets", loop0)
		if len(got) != 1 {
			return false, fmt.Sprintf("%d loop0 series", len(got))
		}
		before = got[0]
		return true, ""
	}, col)

	// VPP dies; its socket goes away (a restarting VPP unlinks it before
	// binding a new one). The receiver says so once, as a warning.
	vpp1.kill()
	if err := os.Remove(sock); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "one warning that VPP is unavailable", func() (bool, string) {
		n := len(logLines(col.out.String(), "VPP is unavailable"))
		return n > 0, fmt.Sprintf("%d lines", n)
	}, col)
	time.Sleep(time.Second) // a few more scrapes while VPP is away

	// A new VPP comes up on the same path with a new segment (a new memfd)
	// and a new boot time: here a simulated VPP.
	restart := time.Now()
	vpp2 := start(t, "vppstat serve --simulate", nil, vppstat, "serve", "--socket", sock, "--simulate",
		"--interfaces", "2", "--threads", "1", "--update-interval", "1s")
	var after []point
	waitFor(t, 60*time.Second, "points from the new segment", func() (bool, string) {
		ps, err := readFileExport(out)
		if err != nil {
			return false, err.Error()
		}
		after = after[:0]
		for _, p := range find(latest(ps), "vpp.interface.packets", nil) {
			if p.ts.AsTime().After(restart) {
				after = append(after, p)
			}
		}
		return len(after) > 0, fmt.Sprintf("%d vpp.interface.packets series scraped since the restart", len(after))
	}, col, vpp2)
	if col.exited() {
		t.Fatalf("the collector exited: %v", col.err)
	}
	// One line when VPP went, one when it came back; no scrape errors, no
	// stack traces in between.
	waitFor(t, 30*time.Second, "the line that VPP is back", func() (bool, string) {
		n := len(logLines(col.out.String(), "VPP is back"))
		return n > 0, fmt.Sprintf("%d lines", n)
	}, col)
	log := col.out.String()
	for _, c := range []struct {
		msg   string
		level string
	}{{"VPP is unavailable", "warn"}, {"VPP is back", "info"}} {
		if got := logLines(log, c.msg); len(got) != 1 || got[0].str("level") != c.level {
			t.Errorf("want one %s line %q, got %v", c.level, c.msg, got)
		}
	}
	for _, e := range collectorLog(log) {
		if e.str("level") == "error" || e["stacktrace"] != nil {
			t.Errorf("error or stack trace logged for a VPP restart: %v", e)
		}
	}
	// The new series start at the new VPP's boot time (whole seconds).
	for _, p := range after {
		st := p.start.AsTime()
		if !st.After(before.start.AsTime()) || st.Before(restart.Truncate(time.Second)) {
			t.Errorf("start time did not move to the new segment: before %v, after %v (new VPP started at %v)", before.start.AsTime(), p, restart)
		}
	}
}

// TestValidateRejectsBadConfig runs `otelcol-vpp validate` on broken
// receiver settings: it must fail and name the key.
func TestValidateRejectsBadConfig(t *testing.T) {
	otelcol, _ := binaries(t)
	dir := shortTempDir(t)
	for _, c := range []struct {
		name, receiver, want string
	}{
		{"empty socket_path", `socket_path: ""`, "socket_path"},
		{"invalid interface regex", "socket_path: /run/vpp/stats.sock\n    interfaces:\n      include: ['loop(']", "interfaces::include"},
		{"invalid error regex", "socket_path: /run/vpp/stats.sock\n    errors:\n      exclude: ['[a-']", "errors::exclude"},
		{"negative stale_after", "socket_path: /run/vpp/stats.sock\n    stale_after: -1s", "stale_after"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeConfig(t, dir, strings.ReplaceAll(c.name, " ", "_")+".yaml", `
receivers:
  vppstats:
    `+c.receiver+`
exporters:
  debug:
service:
  pipelines:
    metrics:
      receivers: [vppstats]
      exporters: [debug]
`+serviceTelemetry)
			ctx, cancel := context.WithTimeout(ctx(t), 60*time.Second)
			defer cancel()
			b, err := exec.CommandContext(ctx, otelcol, "validate", "--config", cfg).CombinedOutput()
			if err == nil {
				t.Fatalf("validate accepted the configuration; output:\n%s", b)
			}
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("validate: %v", err)
			}
			if !strings.Contains(string(b), c.want) {
				t.Errorf("validate failed without naming %q:\n%s", c.want, b)
			}
		})
	}
	validate := func(f string, env ...string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx(t), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, otelcol, "validate", "--config", repoPath(t, "config", f))
		cmd.Env = append(append(os.Environ(), "OTLP_ENDPOINT=http://127.0.0.1:4318"), env...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	t.Run("shipped configs are valid", func(t *testing.T) {
		for _, f := range []string{"demo.yaml", "otlp.yaml", "prometheus.yaml"} {
			if out, err := validate(f); err != nil {
				t.Errorf("config/%s: %v\n%s", f, err, out)
			}
		}
	})
	// Every codec and level config/otlp.yaml documents validates; snappy
	// with the default level 1 is refused naming the codec, as the file
	// says.
	t.Run("otlp.yaml compression settings", func(t *testing.T) {
		for _, env := range [][]string{
			{"OTLP_COMPRESSION=gzip", "OTLP_COMPRESSION_LEVEL=9"},
			{"OTLP_COMPRESSION=gzip", "OTLP_COMPRESSION_LEVEL=0"},
			{"OTLP_COMPRESSION=zstd"},
			{"OTLP_COMPRESSION=zstd", "OTLP_COMPRESSION_LEVEL=4"},
			{"OTLP_COMPRESSION=none"},
			{"OTLP_COMPRESSION=snappy", "OTLP_COMPRESSION_LEVEL=0"},
			{"OTLP_ENDPOINT=https://collector.example:4318"},
		} {
			if out, err := validate("otlp.yaml", env...); err != nil {
				t.Errorf("config/otlp.yaml with %v: %v\n%s", env, err, out)
			}
		}
		out, err := validate("otlp.yaml", "OTLP_COMPRESSION=snappy")
		if err == nil || !strings.Contains(out, `"snappy"`) {
			t.Errorf("config/otlp.yaml with snappy at level 1: %v, want a refusal naming snappy:\n%s", err, out)
		}
	})
}
