// Command e2ebench measures what shipping VPP's stats costs end to end, in
// one run and on the same segments: VPP's own Prometheus exporter
// (vpp_prometheus_export) against otelcol-vpp with the receiver alone, with
// the shipped config/otlp.yaml into a local OTLP/HTTP sink that discards
// (with an OTLP/gRPC one beside it for the otlp_grpc variant), and
// with the shipped config/prometheus.yaml scraped once per collection
// interval. Each job runs as its own process on a segment served by
// `vppstat serve --replay`, updated every collection interval as a live
// VPP's (--update-interval); its CPU (utime+stime from /proc) is taken over
// a number of scrapes after a warm-up, with its peak and final RSS. It
// prints a markdown table with the ratios to the C exporter and which P7
// targets are met. `make bench` runs it (after the Go benchmarks).
//
//	go run ./internal/e2ebench -otelcol build/otelcol-vpp/otelcol-vpp -vppstat build/bin/vppstat
//
// Inputs: a real capture of the bundled VPP with 2,001 interfaces (made by
// driving that VPP through vppctl the first time, then cached), and the
// simulated 10,000 interfaces x 4 workers profile of internal/vppsim.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/vppstats/vppstats/internal/vppsim"
	"github.com/vppstats/vppstats/internal/vpptest"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "e2ebench: "+format+"\n", args...)
}

func main() {
	var (
		otelcol   = flag.String("otelcol", "build/otelcol-vpp/otelcol-vpp", "otelcol-vpp binary")
		vppstat   = flag.String("vppstat", "build/bin/vppstat", "vppstat binary")
		configDir = flag.String("config-dir", "config", "directory of the shipped collector configurations")
		vppDir    = flag.String("vpp-dir", "", "VPP runtime (its bin/vpp_prometheus_export and run-vpp.sh); default $VPPSTATS_VPP_DIR or ../shared/vpp/v26.06 beside the repository, as the live tests find it (vpptest.Dir)")
		scrapes   = flag.Int("scrapes", 10, "scrapes measured per job, after a warm-up")
		rounds    = flag.Int("rounds", 3, "rounds of the main jobs per input, one job after the other in each round; each row is the job's median round (variants run in the first round only)")
		window    = flag.Duration("window", 40*time.Second, "a job that has not done -scrapes scrapes after this long stops at 3")
		realIvl   = flag.Duration("interval-real", time.Second, "collection interval on the real capture")
		simIvl    = flag.Duration("interval-sim", 3*time.Second, "collection interval on the 10k x 4 simulation")
		only      = flag.String("jobs", "", "run only the jobs whose name matches this regular expression (the C exporter and receiver-alone jobs always run: the others are measured against them)")
		variants  = flag.Bool("variants", false, "also run the settings study of config/otlp.yaml (codecs and gzip levels, the previous otlp_grpc exporter, processors)")
		inputsRE  = flag.String("inputs", "", "run only the inputs whose name matches this regular expression")
		out       = flag.String("o", "", "also write the table to this file")
	)
	flag.Parse()
	if err := run(*otelcol, *vppstat, *configDir, *vppDir, *scrapes, *rounds, *window, *realIvl, *simIvl, *only, *inputsRE, *variants, *out); err != nil {
		logf("%v", err)
		os.Exit(1)
	}
}

func run(otelcol, vppstat, configDir, vppDir string, scrapes, rounds int, window, realIvl, simIvl time.Duration, only, inputsRE string, variants bool, out string) error {
	if scrapes < minScrapes {
		return fmt.Errorf("-scrapes must be at least %d", minScrapes)
	}
	if rounds < 1 {
		return errors.New("-rounds must be at least 1")
	}
	if vppDir == "" {
		dir, err := vpptest.Dir()
		if err != nil {
			return fmt.Errorf("-vpp-dir: %w", err)
		}
		vppDir = dir
	}
	jobRE, err := regexp.Compile(only)
	if err != nil {
		return fmt.Errorf("-jobs: %w", err)
	}
	inRE, err := regexp.Compile(inputsRE)
	if err != nil {
		return fmt.Errorf("-inputs: %w", err)
	}
	bins := map[string]*string{"-otelcol": &otelcol, "-vppstat": &vppstat}
	cexp := filepath.Join(vppDir, "bin", "vpp_prometheus_export")
	bins["-vpp-dir (bin/vpp_prometheus_export)"] = &cexp
	for flagName, p := range bins {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%s: %s is not an executable file (make bench builds otelcol-vpp and vppstat; VPP comes from ../shared/vpp/v26.06 or $VPPSTATS_VPP_DIR)", flagName, *p)
		}
		*p = abs
	}
	cache, err := cacheDir()
	if err != nil {
		return err
	}

	var inputs []input
	if name := captureName(vppDir); inRE.MatchString(name) {
		seg, err := realCapture(cache, vppDir, vppstat)
		if err != nil {
			return fmt.Errorf("making the real capture: %w", err)
		}
		inputs = append(inputs, input{name: name, segment: seg, interval: realIvl, ifs: captureIfs})
	}
	if inRE.MatchString("sim-10000x4") {
		prof := vppsim.Profile{Interfaces: 10000, Threads: 4}
		seg, built, err := prof.CachedSegment()
		if err != nil {
			return fmt.Errorf("simulating 10k x 4: %w", err)
		}
		if built > 0 {
			logf("simulated %s in %v", seg, built.Round(time.Millisecond))
		}
		inputs = append(inputs, input{name: "sim-10000x4", segment: seg, interval: simIvl, ifs: 10000})
	}

	sink, err := startSink()
	if err != nil {
		return err
	}
	defer sink.stop()
	e := &env{otelcol: otelcol, cExporter: cexp, configDir: configDir, scrapes: scrapes, window: window, pointsPerScrape: map[string]int64{}, sink: sink}

	started := time.Now()
	var results []result
	for _, in := range inputs {
		tmp, err := os.MkdirTemp("", "e2ebench-")
		if err != nil {
			return err
		}
		e.tmp = tmp
		sock := filepath.Join(tmp, "stats.sock")
		// Updated every collection interval, as VPP's stats collector
		// updates a live segment (the shipped defaults are 10 s and 10 s):
		// every scrape sees values changed in place at the same epoch.
		srv, err := startProc("vppstat serve", nil, nil, vppstat, "serve", "--socket", sock, "--replay", in.segment,
			"--update-interval", in.interval.String())
		if err != nil {
			os.RemoveAll(tmp)
			return err
		}
		err = waitUntil(srv, 60*time.Second, "stats socket "+sock, func() bool { return socketAccepts(sock) })
		for round := range rounds {
			for _, j := range jobs {
				if err != nil {
					break
				}
				if (j.variant && (!variants || round > 0)) || (!j.baseline() && !jobRE.MatchString(j.name)) {
					continue
				}
				logf("%s: round %d/%d: %s (interval %v, %d scrapes)", in.name, round+1, rounds, j.name, in.interval, scrapes)
				r := e.measure(in, sock, j)
				r.round = round
				if r.err != nil {
					logf("%s: %s: %v", in.name, j.name, r.err)
				} else {
					logf("%s: %s: %v CPU per scrape", in.name, j.name, r.cpu)
				}
				results = append(results, r)
			}
		}
		srv.stop()
		os.RemoveAll(tmp)
		if err != nil {
			return err
		}
	}

	table := report(summarize(results), inputs, jobs, scrapes, rounds, time.Since(started), buildInfo())
	fmt.Print(table)
	if out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			return err
		}
	}
	for _, r := range results {
		if r.err != nil && !r.variant {
			return errors.New("some jobs failed (see above)")
		}
	}
	return nil
}

// cacheDir is where the captures are kept: $VPPSTATS_BENCH_CACHE, else
// ~/.cache/vppstats-bench, as for the simulated segments.
func cacheDir() (string, error) {
	if d := os.Getenv("VPPSTATS_BENCH_CACHE"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(c, "vppstats-bench"), nil
}

func buildInfo() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown Go"
}
