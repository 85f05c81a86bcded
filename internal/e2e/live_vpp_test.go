//go:build vpp

package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vppstats/vppstats/internal/vpptest"
)

// End-to-end tests with a real VPP v26.06 and its own C reader: VPP's
// vpp_get_stats reading our served segments, our vppstat reading VPP's, and
// otelcol-vpp with the shipped configurations across a VPP crash.

// gunzip returns the content of a .gz file.
func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameLines fails with the first differing line of two outputs.
func sameLines(t *testing.T, what, want, got string) {
	t.Helper()
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			t.Fatalf("%s: line %d differs:\nwant %q\ngot  %q", what, i+1, w[i], g[i])
		}
	}
	if len(w) != len(g) {
		t.Fatalf("%s: %d lines, want %d", what, len(g), len(w))
	}
}

// TestVPPGetStatsReadsReplay: VPP's C reader reads each capture served by
// `vppstat serve --replay` exactly as it read the real VPP.
func TestVPPGetStatsReadsReplay(t *testing.T) {
	t.Parallel()
	_, vppstat := binaries(t)
	segs, _ := filepath.Glob(repoPath(t, "testdata", "vpp") + "/*/*.seg.gz")
	if len(segs) < 6 {
		t.Fatalf("captures: %v", segs)
	}
	for _, seg := range segs {
		name := filepath.Base(filepath.Dir(seg)) + "/" + strings.TrimSuffix(filepath.Base(seg), ".seg.gz")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sock := filepath.Join(shortTempDir(t), "stats.sock")
			serveReplay(t, vppstat, sock, seg)
			want := gunzip(t, strings.TrimSuffix(seg, ".seg.gz")+".dump.txt.gz")
			sameLines(t, "vpp_get_stats dump of the replay", want, vpptest.MustGetStatsOn(t, sock, "dump"))
		})
	}
}

// TestVPPGetStatsReadsSimulate: VPP's C reader and vppstat read the same
// values from a simulated VPP (200 interfaces x 4 threads), and VPP's reader
// keeps working while the simulated directory churns every 50 ms.
func TestVPPGetStatsReadsSimulate(t *testing.T) {
	t.Parallel()
	_, vppstat := binaries(t)
	t.Run("steady", func(t *testing.T) {
		t.Parallel()
		sock := filepath.Join(shortTempDir(t), "stats.sock")
		sim := start(t, "vppstat serve --simulate", nil, vppstat, "serve", "--socket", sock, "--simulate",
			"--interfaces", "200", "--threads", "4", "--update-interval", "1s")
		waitSocket(t, sock, sim)
		for attempt := 0; ; attempt++ {
			before := vpptest.MustGetStatsOn(t, sock, "dump")
			ours := run(t, vppstat, "dump", "--socket", sock)
			if vpptest.MustGetStatsOn(t, sock, "dump") == before {
				sameLines(t, "vppstat dump vs vpp_get_stats dump", before, ours)
				if n := strings.Count(before, "/if/names"); n != 201 {
					t.Fatalf("%d interface names, want 201", n)
				}
				return
			}
			if attempt == 20 {
				t.Fatal("the simulated VPP changed between every pair of dumps")
			}
		}
	})
	t.Run("churn", func(t *testing.T) {
		t.Parallel()
		sock := filepath.Join(shortTempDir(t), "stats.sock")
		sim := start(t, "vppstat serve --simulate", nil, vppstat, "serve", "--socket", sock, "--simulate",
			"--interfaces", "50", "--churn", "50ms", "--update-interval", "100ms")
		waitSocket(t, sock, sim)
		names := map[string]bool{}
		for range 20 {
			names[vpptest.MustGetStatsOn(t, sock, "dump", "^/if/names$")] = true
			vpptest.MustGetStatsOn(t, sock, "ls")
			time.Sleep(50 * time.Millisecond)
		}
		if len(names) < 2 {
			t.Fatal("the interface names never changed: no churn was read")
		}
	})
}

func waitSocket(t *testing.T, sock string, p *proc) {
	t.Helper()
	waitFor(t, 30*time.Second, "the stats socket "+sock, func() (bool, string) {
		_, err := os.Stat(sock)
		return err == nil, fmt.Sprint(err)
	}, p)
}

// run runs a binary to completion and returns its stdout.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s: %v: %s", bin, strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// vppWithTraffic is a real VPP with interfaces and a bounded stream of
// packets that has ended.
func vppWithTraffic(t *testing.T, opts vpptest.Options) *vpptest.VPP {
	t.Helper()
	v := vpptest.Start(t, opts)
	_, err := v.ExecLines(
		"create loopback interface",
		"create loopback interface",
		"create sub-interfaces loop0 100",
		"set interface state loop0 up",
		"set interface state loop1 up",
		"set interface ip address loop0 10.10.0.1/24",
		"set interface ip address loop1 10.10.1.1/24",
		"set ip neighbor loop1 10.10.1.2 02:00:00:00:01:02 static",
		"packet-generator new { name s0 limit 2000 rate 100000 size 64-64 interface loop0 node ip4-input data { UDP: 10.10.0.2 -> 10.10.1.2 UDP: 1234 -> 5678 incrementing 30 } }",
		"packet-generator enable-stream")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the packet generator to finish", func() (bool, string) {
		out := v.MustCLI(t, "show packet-generator")
		return !strings.Contains(out, " Yes "), out
	})
	return v
}

// TestVPPDumpAndLsMatchGetStats: `vppstat dump` and `vppstat ls` on a live
// VPP print what vpp_get_stats prints, line for line.
func TestVPPDumpAndLsMatchGetStats(t *testing.T) {
	t.Parallel()
	_, vppstat := binaries(t)
	v := vppWithTraffic(t, vpptest.Options{UpdateInterval: 2 * time.Second})
	sock := v.StatsSocket()
	for _, args := range [][]string{{"dump"}, {"ls"}, {"dump", "^/if/", "^/err/ip4"}, {"ls", "^/sys/"}} {
		for attempt := 0; ; attempt++ {
			before := vpptest.MustGetStatsOn(t, sock, args...)
			ours := run(t, vppstat, append([]string{args[0], "--socket", sock}, args[1:]...)...)
			if vpptest.MustGetStatsOn(t, sock, args...) == before {
				sameLines(t, "vppstat "+strings.Join(args, " "), before, ours)
				break
			}
			if attempt == 20 {
				t.Fatalf("VPP changed between every pair of %v", args)
			}
		}
	}
}

// TestVPPShippedConfigs runs otelcol-vpp with each shipped configuration
// (only socket, ports and intervals overridden) against a real VPP that is
// killed with SIGKILL, its socket left on a disk filesystem, and started
// again: one warning when it goes, one line when it is back, no error and
// no stack trace; through OTLP/HTTP (gzip), no point of the dead VPP after its death,
// and the new VPP's series with new start times.
func TestVPPShippedConfigs(t *testing.T) {
	t.Parallel()
	otelcol, _ := binaries(t)
	for _, name := range []string{"otlp.yaml", "prometheus.yaml"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := vpptest.Start(t, vpptest.Options{RunFS: vpptest.DiskFS})
			if _, err := v.ExecLines("create loopback interface", "set interface state loop0 up"); err != nil {
				t.Fatal(err)
			}
			sink, sinkURL, _ := startHTTPSink(t, false)
			const interval = 500 * time.Millisecond
			// The shipped file, then one that overrides only what a test
			// must (the distribution has no yaml: provider for --set).
			override := fmt.Sprintf(`
receivers:
  vppstats:
    socket_path: %s
    collection_interval: %s
extensions:
  health_check:
    endpoint: 127.0.0.1:%d
service:
  telemetry:
    metrics:
      level: none
`, v.StatsSocket(), interval, freePort(t))
			if name == "otlp.yaml" {
				override += "processors:\n  batch:\n    timeout: 100ms\n"
			} else {
				override += fmt.Sprintf("exporters:\n  prometheus_text:\n    endpoint: 127.0.0.1:%d\n", freePort(t))
			}
			args := []string{"--config", repoPath(t, "config", name), "--config", writeConfig(t, shortTempDir(t), "override.yaml", override)}
			col := start(t, "otelcol-vpp", []string{"OTLP_ENDPOINT=" + sinkURL, "VPP_INSTANCE=e2e"}, otelcol, args...)
			waitFor(t, 60*time.Second, "VPP connected", func() (bool, string) {
				return strings.Contains(col.out.String(), "connected to VPP's stats segment"), ""
			}, col)
			time.Sleep(2 * interval)

			if err := v.Kill(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			died := time.Now()
			if _, err := os.Stat(v.StatsSocket()); err != nil {
				t.Fatalf("SIGKILL should leave the socket: %v", err)
			}
			waitFor(t, 30*time.Second, "the warning that VPP is unavailable", func() (bool, string) {
				return strings.Contains(col.out.String(), "VPP is unavailable"), ""
			}, col)
			time.Sleep(6 * interval) // scrapes while VPP is away: nothing to log
			if err := v.Start(); err != nil {
				t.Fatal(err)
			}
			restarted := time.Now()
			waitFor(t, 30*time.Second, "the line that VPP is back", func() (bool, string) {
				return strings.Contains(col.out.String(), "VPP is back"), ""
			}, col)
			time.Sleep(2 * interval)
			col.stop(t)

			log := col.out.String()
			for msg, want := range map[string]int{"VPP is unavailable": 1, "VPP is back": 1, "connected to VPP's stats segment": 1, "next attempt in 0s": 0} {
				if got := strings.Count(log, msg); got != want {
					t.Errorf("%d log lines with %q, want %d", got, msg, want)
				}
			}
			for _, line := range strings.Split(log, "\n") {
				if strings.Contains(line, "\terror\t") || strings.HasPrefix(line, "\t/") || strings.Contains(line, "stacktrace") {
					t.Errorf("error or stack trace for an expected VPP restart: %q", line)
				}
			}

			if name != "otlp.yaml" {
				return
			}
			// otlp.yaml ships OTLP/HTTP with gzip: every request gzip,
			// decoded and accepted.
			enc, refused := sink.requests()
			if len(refused) > 0 {
				t.Errorf("the OTLP/HTTP sink refused %d requests, e.g. %s", len(refused), refused[0])
			}
			if len(enc) != 1 || enc["gzip"] == 0 {
				t.Errorf("requests per Content-Encoding %v, want gzip only", enc)
			}
			ps, _ := sink.snapshot()
			loop0 := 0
			for _, p := range ps {
				if p.metric == "vpp.interface.packets" && p.attrs["network.interface.name"] == "loop0" && p.res["vpp.instance"] == "e2e" {
					loop0++
				}
			}
			if loop0 == 0 {
				t.Errorf("no vpp.interface.packets of loop0 (vpp.instance e2e) among %d points", len(ps))
			}
			var oldStart, newStart time.Time
			for _, p := range ps {
				if p.metric != "vpp.node.calls" {
					continue
				}
				ts, st := p.ts.AsTime(), p.start.AsTime()
				switch {
				case ts.Before(died):
					oldStart = st
				case ts.After(died.Add(interval)) && !st.After(oldStart):
					t.Errorf("a point of the dead VPP exported %v after its death: %v", ts.Sub(died), p)
				case ts.After(restarted):
					newStart = st
				}
			}
			if oldStart.IsZero() || newStart.IsZero() || !newStart.After(oldStart) {
				t.Errorf("start times: dead VPP %v, new VPP %v", oldStart, newStart)
			}
		})
	}
}
