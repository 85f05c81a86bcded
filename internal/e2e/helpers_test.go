package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vppstats/vppstats/internal/testutil"
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

// flatten returns every data point of md (a metric of another type than
// sum or gauge as one point without attributes or value).
func flatten(md pmetric.Metrics) []point {
	var out []point
	for _, tp := range testutil.Points(md) {
		p := point{metric: tp.Metric, kind: tp.Type, res: tp.Resource.AsRaw()}
		if tp.Number() {
			dp := tp.DP
			p.attrs, p.start, p.ts, p.value = dp.Attributes().AsRaw(), dp.StartTimestamp(), dp.Timestamp(), tp.Value()
			if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
				p.isInt, p.ivalue = true, dp.IntValue()
			}
		}
		out = append(out, p)
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
