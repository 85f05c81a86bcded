package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// captureLoopbacks and captureSubifs size the real capture: each loopback
// gets subifs sub-interfaces, so with local0 the segment describes
// 1 + loopbacks*(1+subifs) interfaces: 2,001, one thread. Loopbacks, like
// physical interfaces, add two graph nodes each (loopN-output, loopN-tx),
// so the /nodes and /err stats grow with them as on a real router.
const (
	captureLoopbacks = 1000
	captureSubifs    = 1
	captureIfs       = 1 + captureLoopbacks*(1+captureSubifs)
)

// captureCLI is what VPP is told before the capture: the interfaces, and a
// finite packet-generator stream through loop0 (so loop0's counters are
// non-zero and fixed) that is routed out loop1.
func captureCLI() string {
	var b strings.Builder
	for range captureLoopbacks {
		b.WriteString("create loopback interface\n")
	}
	for i := range captureLoopbacks {
		fmt.Fprintf(&b, "create sub-interfaces loop%d 1-%d\n", i, captureSubifs)
	}
	b.WriteString(`set interface state loop0 up
set interface state loop1 up
set interface ip address loop0 10.10.0.1/24
set interface ip address loop1 10.10.1.1/24
set ip neighbor loop1 10.10.1.2 02:00:00:00:01:02 static
packet-generator new { name s0 limit 20000 rate 1000000 size 64-64 interface loop0 node ip4-input data { UDP: 10.10.0.2 -> 10.10.1.2 UDP: 1234 -> 5678 incrementing 30 } }
packet-generator new { name s1 limit 3000 rate 1000000 size 64-64 interface loop0 node ip4-input data { UDP: 10.10.0.2 -> 10.10.0.1 UDP: 1234 -> 9999 incrementing 30 } }
packet-generator enable-stream
`)
	return b.String()
}

// realCapture returns the cached capture of the bundled VPP with the
// interfaces of captureCLI, making it first if needed. The file name holds
// a hash of the CLI and the startup.conf, so changing either makes a new one.
func realCapture(cacheDir, vppDir, vppstat string) (string, error) {
	tmpl, err := os.ReadFile(filepath.Join(vppDir, "startup.conf.template"))
	if err != nil {
		return "", fmt.Errorf("the bundled VPP: %w (set VPPSTATS_VPP_DIR to a VPP runtime, see ../shared/vpp/v26.06/README.md)", err)
	}
	cli := captureCLI()
	sum := sha256.Sum256(append(append([]byte(cli), 0), tmpl...))
	path := filepath.Join(cacheDir, fmt.Sprintf("%s-%s.seg.gz", captureName(vppDir), hex.EncodeToString(sum[:4])))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	start := time.Now()
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	run, err := os.MkdirTemp("", "e2ebench-vpp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(run)
	conf := strings.NewReplacer("@RUN@", run, "@PREFIX@", fmt.Sprintf("e2ebench%d", os.Getpid())).Replace(string(tmpl))
	// Refresh node counters and /sys every second rather than every 10 s,
	// so the capture shows the finished stream without a long wait.
	conf = strings.Replace(conf, "statseg {", "statseg { update-interval 1", 1)
	if err := os.WriteFile(filepath.Join(run, "startup.conf"), []byte(conf), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(run, "setup.cli"), []byte(cli), 0o644); err != nil {
		return "", err
	}
	vpp, err := startProc("vpp", nil, nil, filepath.Join(vppDir, "run-vpp.sh"), filepath.Join(run, "startup.conf"))
	if err != nil {
		return "", err
	}
	defer vpp.stop()
	sock, cli := filepath.Join(run, "stats.sock"), filepath.Join(run, "cli.sock")
	if err := waitUntil(vpp, 30*time.Second, "VPP stats and CLI sockets in "+run, func() bool {
		_, err := os.Stat(cli)
		return err == nil && socketAccepts(sock)
	}); err != nil {
		return "", err
	}
	vppctl := filepath.Join(vppDir, "bin", "vppctl")
	if out, err := exec.Command(vppctl, "-s", cli, "exec", filepath.Join(run, "setup.cli")).CombinedOutput(); err != nil || strings.Contains(string(out), "rror") {
		return "", fmt.Errorf("vppctl exec setup.cli: %v: %s", err, out)
	}
	// The streams are finite (23,000 packets at 1 Mpps); two stats update
	// intervals later every counter has settled.
	time.Sleep(3 * time.Second)
	tmp := strings.TrimSuffix(path, ".seg.gz") + fmt.Sprintf(".tmp-%d.seg.gz", os.Getpid()) // vppstat gzips by the name
	if out, err := exec.Command(vppstat, "capture", "--socket", sock, "-o", tmp).CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("vppstat capture: %v: %s", err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	logf("made %s in %v", path, time.Since(start).Round(time.Millisecond))
	return path, nil
}

// captureName names the real capture input in the tables.
func captureName(vppDir string) string {
	return fmt.Sprintf("vpp-%s-%dif", filepath.Base(vppDir), captureIfs)
}

// socketAccepts tells whether a stats socket takes connections.
func socketAccepts(sock string) bool {
	c, err := net.DialTimeout("unixpacket", sock, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
