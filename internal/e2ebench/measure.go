package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"
)

// result is one job measured on one input.
type result struct {
	input, job string
	variant    bool
	round      int // 0-based
	// ratios are the job's CPU per scrape over the C exporter's, one per
	// round, ascending (summarize).
	ratios    []float64
	scrapes   int
	cpu       time.Duration // per scrape
	keepUp    float64       // scrapes done per collection interval (1 = kept up)
	rssPeak   int64
	rssEnd    int64
	series    int   // points per scrape, or series on the /metrics page
	wireBytes int64 // per /metrics response or OTLP scrape, as sent
	textBytes int64 // per /metrics response or OTLP scrape, decoded
	latP50    time.Duration
	latMax    time.Duration
	err       error
}

// env is what every measurement needs.
type env struct {
	otelcol, cExporter, configDir string
	scrapes                       int
	pointsPerScrape               map[string]int64 // input -> points, from the debug job
	sink                          *otlpSink
	tmp                           string // for override files
	// window bounds a job's measurement: past it, a job that could not
	// keep up stops after minScrapes scrapes rather than e.scrapes.
	window time.Duration
}

func (e *env) measure(in input, sock string, j job) result {
	r := result{input: in.name, job: j.name, variant: j.variant}
	var (
		p   *proc
		err error
		url string
	)
	var debugScrapes, debugPoints atomic.Int64
	switch {
	case j.cExporter:
		port := freePort()
		url = fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
		p, err = startProc("vpp_prometheus_export", nil, nil, e.cExporter,
			"socket-name", sock, "port", strconv.Itoa(port), "/if", "/err", "/sys", "/nodes", "/mem", "/buffer-pools")
	default:
		var args []string
		args, url, err = e.collectorArgs(in, sock, j)
		if err != nil {
			break
		}
		p, err = startProc("otelcol-vpp", j.env, func(line string) {
			if m := debugLine.FindStringSubmatch(line); m != nil {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				debugPoints.Store(n)
				debugScrapes.Add(1)
			}
		}, e.otelcol, args...)
	}
	if err != nil {
		r.err = err
		return r
	}
	defer p.stop()

	startup := 60*time.Second + 5*in.interval
	switch j.via {
	case viaPull:
		r.err = e.measurePull(p, url, j.gzip, in.interval, startup, &r)
	case viaDebug:
		r.err = e.measureEvents(p, in.interval, startup, debugScrapes.Load, &r, nil)
		r.series = int(debugPoints.Load())
		if r.err == nil {
			e.pointsPerScrape[in.name] = debugPoints.Load()
		}
	case viaSink:
		per := e.pointsPerScrape[in.name]
		if per == 0 {
			r.err = fmt.Errorf("no points per scrape known for %s: the receiver-alone job must run first", in.name)
			return r
		}
		base, refused := e.sink.points.Load(), e.sink.refused.Load()
		r.series = int(per)
		var wire0, raw0, points0 int64
		r.err = e.measureEvents(p, in.interval, startup, func() int64 { return (e.sink.points.Load() - base) / per }, &r, func() {
			wire0, raw0, points0 = e.sink.wire.Load(), e.sink.raw.Load(), e.sink.points.Load()
		})
		if n := e.sink.refused.Load() - refused; n > 0 {
			r.err = fmt.Errorf("the OTLP/HTTP sink refused %d requests, as the Collector's OTLP receiver would (over %d MiB?)%s", n, maxHTTPBody>>20, errSuffix(r.err))
		}
		// Bytes per point times points per scrape: the batch processor's
		// requests straddle scrapes, so the window holds up to a scrape
		// more or less than r.scrapes.
		if points := e.sink.points.Load() - points0; r.err == nil && points > 0 {
			r.wireBytes = (e.sink.wire.Load() - wire0) * per / points
			r.textBytes = (e.sink.raw.Load() - raw0) * per / points
		}
	}
	return r
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

// minScrapes is the fewest scrapes a measurement averages over.
const minScrapes = 3

var debugLine = regexp.MustCompile(`"data points": (\d+)`)

// collectorArgs builds the command line: the shipped config, plus --set
// for the stats socket, the interval, every listen/export endpoint of the
// pipeline's exporters and the extensions, and no internal telemetry
// endpoint (so runs beside another collector do not clash on :8888).
// It returns the /metrics URL when the pipeline has a pull exporter.
func (e *env) collectorArgs(in input, sock string, j job) ([]string, string, error) {
	path := filepath.Join(e.configDir, j.config)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var cfg struct {
		Exporters  map[string]any            `yaml:"exporters"`
		Extensions map[string]map[string]any `yaml:"extensions"`
		Service    struct {
			Extensions []string `yaml:"extensions"`
			Pipelines  map[string]struct {
				Exporters []string `yaml:"exporters"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	sets := []string{
		"receivers::vppstats::socket_path=" + sock,
		"receivers::vppstats::collection_interval=" + in.interval.String(),
		"service::telemetry::metrics::level=none",
	}
	exporters, err := pipelineExporters(cfg.Service.Pipelines["metrics"].Exporters, j.sets)
	if err != nil {
		return nil, "", err
	}
	// Every exporter of the file, in the pipeline or not (the collector
	// validates them all), and those the job adds: OTLP ones send to the
	// sink of their protocol, a pull job's serves /metrics on a free port.
	ids := slices.Sorted(maps.Keys(cfg.Exporters))
	for _, id := range exporters {
		if cfg.Exporters[id] == nil {
			ids = append(ids, id)
		}
	}
	url := ""
	for _, id := range ids {
		typ, _, _ := strings.Cut(id, "/")
		endpoint, ok := e.sink.endpoints[typ]
		if j.via == viaPull && pullExporters[typ] && slices.Contains(exporters, id) {
			endpoint, ok = fmt.Sprintf("127.0.0.1:%d", freePort()), true
			url = "http://" + endpoint + "/metrics"
		}
		if ok {
			sets = append(sets, fmt.Sprintf("exporters::%s::endpoint=%s", id, endpoint))
		}
	}
	for _, id := range cfg.Service.Extensions {
		if _, ok := cfg.Extensions[id]["endpoint"]; ok {
			sets = append(sets, fmt.Sprintf("extensions::%s::endpoint=127.0.0.1:%d", id, freePort()))
		}
	}
	if j.via == viaPull && url == "" {
		return nil, "", fmt.Errorf("%s: no exporter with an endpoint in the metrics pipeline to GET /metrics from", path)
	}
	overrides, err := overrideFile(e.tmp, append(sets, j.sets...))
	if err != nil {
		return nil, "", err
	}
	// The collector merges its --config files in order, later ones
	// overriding (lists replaced whole): the shipped file stays as is.
	return []string{"--config", path, "--config", overrides}, url, nil
}

// pullExporters are the exporter types that serve /metrics.
var pullExporters = map[string]bool{"prometheus": true, "prometheus_text": true}

// pipelineExporters is the metrics pipeline's exporter list: the shipped
// file's, unless the job's overrides replace it.
func pipelineExporters(shipped, sets []string) ([]string, error) {
	const key = "service::pipelines::metrics::exporters="
	for _, s := range sets {
		if v, ok := strings.CutPrefix(s, key); ok {
			var ids []string
			if err := yaml.Unmarshal([]byte(v), &ids); err != nil {
				return nil, fmt.Errorf("override %q: %w", s, err)
			}
			return ids, nil
		}
	}
	return shipped, nil
}

// overrideFile writes --set style overrides ("a::b::c=yaml value") as a
// configuration file to merge over the shipped one. (otelcol-vpp ships the
// file and env config providers only, and --set needs the yaml one.)
func overrideFile(dir string, sets []string) (string, error) {
	root := map[string]any{}
	for _, s := range sets {
		key, val, ok := strings.Cut(s, "=")
		if !ok {
			return "", fmt.Errorf("override %q: want key::path=value", s)
		}
		var v any
		if err := yaml.Unmarshal([]byte(val), &v); err != nil {
			return "", fmt.Errorf("override %q: %w", s, err)
		}
		m := root
		parts := strings.Split(key, "::")
		for _, k := range parts[:len(parts)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = v
	}
	raw, err := yaml.Marshal(root)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "overrides-*.yaml")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(raw); err != nil {
		f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}

// measureEvents waits for the second scrape (the first resolves the
// directory and warms caches), then takes the process's CPU between that
// scrape and e.scrapes scrapes later.
// atStart, if set, is called when the measurement starts.
func (e *env) measureEvents(p *proc, interval, startup time.Duration, done func() int64, r *result, atStart func()) error {
	if err := waitUntil(p, startup, "second scrape", func() bool { return done() >= 2 }); err != nil {
		return err
	}
	from := done()
	u0, err := readUsage(p.cmd.Process.Pid)
	if err != nil {
		return err
	}
	if atStart != nil {
		atStart()
	}
	want := from + int64(e.scrapes)
	if err := waitUntil(p, e.window+time.Duration(e.scrapes+5)*interval*4, fmt.Sprintf("%d scrapes", e.scrapes), func() bool {
		n := done()
		return n >= want || (n-from >= minScrapes && time.Since(u0.at) > e.window)
	}); err != nil {
		return err
	}
	u1, err := readUsage(p.cmd.Process.Pid)
	if err != nil {
		return err
	}
	n := done() - from
	r.scrapes = int(n)
	r.cpu = (u1.cpu - u0.cpu) / time.Duration(n)
	r.keepUp = float64(n) * float64(interval) / float64(u1.at.Sub(u0.at))
	r.rssPeak, r.rssEnd = u1.hwm, u1.rss
	return nil
}

// measurePull GETs /metrics until a page with samples comes back, once
// more one interval later (warm-up), then e.scrapes times at the interval,
// and takes the process's CPU over those requests.
func (e *env) measurePull(p *proc, url string, gz bool, interval, startup time.Duration, r *result) error {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 2 * time.Minute}
	var last page
	get := func() error {
		var err error
		last, err = getMetrics(client, url, gz)
		return err
	}
	var lastErr error
	if err := waitUntil(p, startup, "samples on "+url, func() bool {
		lastErr = get()
		return lastErr == nil && last.series > 0
	}); err != nil {
		return fmt.Errorf("%w (last: %v)", err, lastErr)
	}
	time.Sleep(interval)
	if err := get(); err != nil {
		return err
	}
	u0, err := readUsage(p.cmd.Process.Pid)
	if err != nil {
		return err
	}
	var lat []time.Duration
	next := time.Now().Add(interval)
	for i := range e.scrapes {
		if i >= minScrapes && time.Since(u0.at) > e.window {
			break
		}
		time.Sleep(time.Until(next))
		next = next.Add(interval)
		if err := get(); err != nil {
			return p.failure(err.Error())
		}
		lat = append(lat, last.latency)
		if now := time.Now(); next.Before(now) {
			next = now
		}
	}
	u1, err := readUsage(p.cmd.Process.Pid)
	if err != nil {
		return err
	}
	r.scrapes = len(lat)
	r.cpu = (u1.cpu - u0.cpu) / time.Duration(len(lat))
	r.keepUp = float64(len(lat)) * float64(interval) / float64(u1.at.Sub(u0.at))
	r.rssPeak, r.rssEnd = u1.hwm, u1.rss
	r.series, r.wireBytes, r.textBytes = last.series, last.wire, last.text
	slices.Sort(lat)
	r.latP50, r.latMax = lat[len(lat)/2], lat[len(lat)-1]
	return nil
}

type page struct {
	series     int
	wire, text int64
	latency    time.Duration
}

// getMetrics fetches a /metrics page as Prometheus would (text format,
// gzip if asked) and counts its samples.
func getMetrics(client *http.Client, url string, gz bool) (page, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return page{}, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return page{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	pg := page{latency: time.Since(start), wire: int64(len(body))}
	if err != nil {
		return pg, err
	}
	if resp.StatusCode != http.StatusOK {
		return pg, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return pg, fmt.Errorf("GET %s: %w", url, err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			return pg, fmt.Errorf("GET %s: %w", url, err)
		}
	}
	pg.text = int64(len(body))
	for line := range bytes.Lines(body) {
		if len(line) > 1 && line[0] != '#' {
			pg.series++
		}
	}
	return pg, nil
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
