package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// binaries returns the paths of otelcol-vpp and vppstat.
func binaries(t *testing.T) (otelcol, vppstat string) {
	t.Helper()
	otelcol, vppstat = os.Getenv("OTELCOL_VPP_BIN"), os.Getenv("VPPSTAT_BIN")
	var missing []string
	for _, b := range []struct {
		env  string
		path *string
	}{{"OTELCOL_VPP_BIN", &otelcol}, {"VPPSTAT_BIN", &vppstat}} {
		if *b.path == "" {
			missing = append(missing, b.env+" is not set")
			continue
		}
		// go test runs in internal/e2e; relative paths may be given from
		// the repository root as well.
		if !filepath.IsAbs(*b.path) {
			if _, err := os.Stat(*b.path); err != nil {
				*b.path = filepath.Join("..", "..", *b.path)
			}
		}
		if st, err := os.Stat(*b.path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, fmt.Sprintf("%s=%s is not an executable file", b.env, os.Getenv(b.env)))
		}
	}
	if len(missing) > 0 {
		msg := "e2e: the binaries are not built (" + strings.Join(missing, "; ") + "); run `make e2e` (it builds them and sets OTELCOL_VPP_BIN and VPPSTAT_BIN)"
		if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, p := range []*string{&otelcol, &vppstat} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			t.Fatal(err)
		}
		*p = abs
	}
	return otelcol, vppstat
}

// repoPath returns a path of the repository (the tests run in internal/e2e).
func repoPath(t *testing.T, elem ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"..", ".."}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return p
}

// shortTempDir is a temporary directory with a short path: Unix socket paths
// are limited to 107 bytes, and t.TempDir() embeds the test's name.
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "vppe2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a child process with its combined output.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // valid after done is closed
}

// start runs bin with args; the test's cleanup stops it (SIGTERM, then
// SIGKILL after 10 s) and logs its output if the test failed.
func start(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("output of %s (%s):\n%s", name, strings.Join(p.cmd.Args, " "), tail(p.out.String(), 200))
		}
	})
	return p
}

// stop terminates the process and waits for it.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not stop within 10s of SIGTERM; killing it", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the process with SIGKILL, as a crash would.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = append([]string{fmt.Sprintf("... (%d lines before)", len(ls)-lines)}, ls[len(ls)-lines:]...)
	}
	return strings.Join(ls, "\n")
}

// waitFor polls cond every 100 ms until it returns true, failing the test
// after timeout with cond's last explanation. The processes in watch must
// stay alive meanwhile.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string), watch ...*proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	why := ""
	for {
		var ok bool
		ok, why = cond()
		if ok {
			return
		}
		for _, p := range watch {
			if p.exited() {
				t.Fatalf("waiting for %s: %s exited (%v); last state: %s", what, p.name, p.err, why)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not done after %v: %s", what, timeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serveReplay starts `vppstat serve --replay` on sock and waits until the
// socket accepts connections.
func serveReplay(t *testing.T, vppstat, sock, segment string) *proc {
	t.Helper()
	p := start(t, "vppstat serve", nil, vppstat, "serve", "--socket", sock, "--replay", segment)
	waitFor(t, 30*time.Second, "the stats socket "+sock, func() (bool, string) {
		c, err := net.DialTimeout("unixpacket", sock, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	}, p)
	return p
}

// writeConfig writes a collector configuration into dir.
func writeConfig(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// serviceTelemetry keeps the collector's own metrics off (they would all
// bind :8888) and its logs in JSON, which the tests read.
const serviceTelemetry = `
  telemetry:
    metrics:
      level: none
    logs:
      encoding: json
      level: info
`

// point is one data point of a metric, flattened.
type point struct {
	metric string
	kind   pmetric.MetricType
	res    map[string]any
	attrs  map[string]any
	start  pcommon.Timestamp
	ts     pcommon.Timestamp
	value  float64
	ivalue int64
	isInt  bool
}

// key identifies the series of a point.
func (p point) key() string {
	b, _ := json.Marshal(p.attrs)
	return p.metric + string(b)
}

func (p point) String() string {
	v := strconv.FormatFloat(p.value, 'g', -1, 64)
	if p.isInt {
		v = strconv.FormatInt(p.ivalue, 10)
	}
	return fmt.Sprintf("%s%v = %s (start %v, time %v)", p.metric, p.attrs, v, p.start, p.ts)
}

// flatten returns every number data point of md.
func flatten(md pmetric.Metrics) []point {
	var out []point
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := rm.Resource().Attributes().AsRaw()
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				default:
					out = append(out, point{metric: m.Name(), kind: m.Type(), res: res})
					continue
				}
				for l := 0; l < dps.Len(); l++ {
					dp := dps.At(l)
					p := point{metric: m.Name(), kind: m.Type(), res: res, attrs: dp.Attributes().AsRaw(), start: dp.StartTimestamp(), ts: dp.Timestamp()}
					if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
						p.isInt, p.ivalue, p.value = true, dp.IntValue(), float64(dp.IntValue())
					} else {
						p.value = dp.DoubleValue()
					}
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// readFileExport parses the file exporter's JSON lines written so far (an
// incomplete last line is left for the next call).
func readFileExport(path string) ([]point, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		return nil, nil
	}
	var out []point
	var u pmetric.JSONUnmarshaler
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		md, err := u.UnmarshalMetrics(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, flatten(md)...)
	}
	return out, sc.Err()
}

// latest keeps the newest point of each series.
func latest(ps []point) map[string]point {
	m := make(map[string]point)
	for _, p := range ps {
		if q, ok := m[p.key()]; !ok || p.ts >= q.ts {
			m[p.key()] = p
		}
	}
	return m
}

// find returns the newest points of metric whose attributes include attrs.
func find(ps map[string]point, metric string, attrs map[string]any) []point {
	var out []point
	for _, p := range ps {
		if p.metric != metric {
			continue
		}
		ok := true
		for k, v := range attrs {
			if fmt.Sprint(p.attrs[k]) != fmt.Sprint(v) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}

func metricNames(ps []point) map[string]bool {
	m := make(map[string]bool)
	for _, p := range ps {
		m[p.metric] = true
	}
	return m
}

// vppDump is VPP's own `vpp_get_stats dump` of a capture.
type vppDump struct {
	// counters[name][index][thread] = {packets, bytes}
	counters map[string]map[int]map[int][2]uint64
	scalars  map[string]float64
}

var (
	dumpCounter = regexp.MustCompile(`^\[(\d+) @ (\d+)\]: (\d+) packets(?:, (\d+) bytes)? (/.*)$`)
	dumpScalar  = regexp.MustCompile(`^(-?[0-9.]+(?:e[+-]?\d+)?) (/.*)$`)
)

func readDump(t *testing.T, path string) *vppDump {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	d := &vppDump{counters: map[string]map[int]map[int][2]uint64{}, scalars: map[string]float64{}}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := dumpCounter.FindStringSubmatch(line); m != nil {
			idx, _ := strconv.Atoi(m[1])
			th, _ := strconv.Atoi(m[2])
			pk, _ := strconv.ParseUint(m[3], 10, 64)
			var by uint64
			if m[4] != "" {
				by, _ = strconv.ParseUint(m[4], 10, 64)
			}
			byIdx := d.counters[m[5]]
			if byIdx == nil {
				byIdx = map[int]map[int][2]uint64{}
				d.counters[m[5]] = byIdx
			}
			if byIdx[idx] == nil {
				byIdx[idx] = map[int][2]uint64{}
			}
			byIdx[idx][th] = [2]uint64{pk, by}
		} else if m := dumpScalar.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			d.scalars[m[2]] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(d.counters) == 0 {
		t.Fatalf("%s: no counters parsed", path)
	}
	return d
}

// sumThreads returns the packets and bytes of counter name at index, summed
// over threads, and whether the dump has it.
func (d *vppDump) sumThreads(name string, index int) (packets, bytes uint64, ok bool) {
	th, ok := d.counters[name][index]
	for _, v := range th {
		packets += v[0]
		bytes += v[1]
	}
	return packets, bytes, ok
}

// logEntry is one line of the collector's JSON log.
type logEntry map[string]any

func (e logEntry) str(k string) string { s, _ := e[k].(string); return s }

func collectorLog(out string) []logEntry {
	var es []logEntry
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var e logEntry
		if json.Unmarshal([]byte(line), &e) == nil {
			es = append(es, e)
		}
	}
	return es
}

// logLines are the collector's log entries whose message starts with msg.
func logLines(out, msg string) []logEntry {
	var es []logEntry
	for _, e := range collectorLog(out) {
		if strings.HasPrefix(e.str("msg"), msg) {
			es = append(es, e)
		}
	}
	return es
}

// ctx returns a context cancelled at the end of the test.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return c
}
