package vpptest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// readerTimeout bounds one run of VPP's C reader.
const readerTimeout = 60 * time.Second

// GetStats runs VPP's own C reader, `vpp_get_stats socket-name SOCK ARGS…`
// (ls, dump, with regexes), on any stats socket: a real VPP's or
// `vppstat serve`'s. It returns stdout; stderr goes into the error.
func GetStats(sock string, args ...string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "bin", "vpp_get_stats"), append([]string{"socket-name", sock}, args...)...)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(dir, "lib"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("vpp_get_stats %s %s: %w: %s", sock, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Exporter is a running vpp_prometheus_export (VPP's own Prometheus
// exporter) on 127.0.0.1.
type Exporter struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartExporter runs `vpp_prometheus_export socket-name SOCK port N
// PATTERNS…` on a free port and waits until it serves /metrics.
func StartExporter(sock string, patterns ...string) (*Exporter, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"socket-name", sock, "port", strconv.Itoa(port)}, patterns...)
	cmd := exec.Command(filepath.Join(dir, "bin", "vpp_prometheus_export"), args...)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(dir, "lib"))
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e := &Exporter{URL: fmt.Sprintf("http://127.0.0.1:%d/metrics", port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(e.done) }()
	deadline := time.Now().Add(readerTimeout)
	for {
		select {
		case <-e.done:
			return nil, fmt.Errorf("vpp_prometheus_export exited: %s", output.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			return e, nil
		}
		if time.Now().After(deadline) {
			e.Close()
			return nil, fmt.Errorf("vpp_prometheus_export not listening on port %d after %v", port, readerTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Scrape fetches the exporter's /metrics once.
func (e *Exporter) Scrape() (string, error) {
	client := http.Client{Timeout: readerTimeout}
	resp, err := client.Get(e.URL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", e.URL, resp.Status)
	}
	return string(body), nil
}

// Close stops the exporter.
func (e *Exporter) Close() {
	_ = e.cmd.Process.Kill()
	<-e.done
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
