package vpptest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options shape one VPP. The zero value is a VPP on its main thread only,
// with VPP's default stats update interval (10 s), in a temporary directory.
type Options struct {
	// Workers is `cpu { workers N }`. Each worker busy-polls a core, so keep
	// it 0 unless the test is about workers.
	Workers int
	// UpdateInterval is `statseg { update-interval }`: how often VPP bumps
	// /sys/heartbeat and refreshes node counters, rates, heaps and buffer
	// pools. 0 keeps VPP's default (10 s).
	UpdateInterval time.Duration
	// RunFS picks the filesystem of the RUN directory (sockets, logs).
	RunFS FS
	// StartTimeout bounds the wait for VPP to be ready (default 60 s: the
	// machines that run the tests are busy).
	StartTimeout time.Duration
	// Config is appended to startup.conf as is.
	Config string
}

// FS is the kind of filesystem a VPP's RUN directory lives on. It matters
// for restarts: a disk filesystem can give a re-created stats.sock the inode
// of the one a killed VPP left behind; tmpfs does not.
type FS int

const (
	// TempFS is the system's temporary directory, whatever it is.
	TempFS FS = iota
	// DiskFS is a directory on a disk-backed filesystem (not tmpfs).
	DiskFS
	// TmpFS is a tmpfs mounted for this VPP alone (needs CAP_SYS_ADMIN).
	TmpFS
)

func (f FS) String() string {
	return [...]string{"temp", "disk", "tmpfs"}[f]
}

// VPP is one running (or stopped) VPP process.
type VPP struct {
	// Dir is the VPP runtime (bin/, lib/).
	Dir string
	// Run is the RUN directory: startup.conf, sockets, logs.
	Run string
	// Prefix is the api-segment prefix, unique per VPP.
	Prefix string

	opts    Options
	cleanup []func()

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	state  *os.ProcessState
	execN  int
}

var prefixSeq atomic.Uint64

// New starts a VPP and waits until its stats socket accepts clients and its
// CLI answers. Close stops it and removes its RUN directory.
func New(opts Options) (*VPP, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	v := &VPP{
		Dir:    dir,
		Prefix: fmt.Sprintf("vpptest%d_%d", os.Getpid(), prefixSeq.Add(1)),
		opts:   opts,
	}
	if err := v.makeRun(); err != nil {
		v.Close()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(v.Run, "startup.conf"), []byte(v.startupConf()), 0o644); err != nil {
		v.Close()
		return nil, err
	}
	if err := v.Start(); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// StatsSocket is the path of VPP's stats socket (statseg { socket-name }).
func (v *VPP) StatsSocket() string { return filepath.Join(v.Run, "stats.sock") }

// APISocket is the path of VPP's binary API socket (socksvr { socket-name }).
func (v *VPP) APISocket() string { return filepath.Join(v.Run, "api.sock") }

// CLISocket is the path of VPP's CLI socket (unix { cli-listen }).
func (v *VPP) CLISocket() string { return filepath.Join(v.Run, "cli.sock") }

// LogPath is where VPP's stdout and stderr go (appended across restarts).
func (v *VPP) LogPath() string { return filepath.Join(v.Run, "stdout.log") }

func (v *VPP) bin(name string) string { return filepath.Join(v.Dir, "bin", name) }

func (v *VPP) startupConf() string {
	var b strings.Builder
	run := v.Run
	fmt.Fprintf(&b, "unix { nodaemon runtime-dir %s cli-listen %s/cli.sock log %s/vpp.log pidfile %s/vpp.pid poll-sleep-usec 100 }\n", run, run, run, run)
	fmt.Fprintf(&b, "api-segment { prefix %s }\n", v.Prefix)
	fmt.Fprintf(&b, "socksvr { socket-name %s/api.sock }\n", run)
	statseg := fmt.Sprintf("socket-name %s/stats.sock size 64m page-size 4k per-node-counters on", run)
	if v.opts.UpdateInterval > 0 {
		statseg += fmt.Sprintf(" update-interval %g", v.opts.UpdateInterval.Seconds())
	}
	fmt.Fprintf(&b, "statseg { %s }\n", statseg)
	b.WriteString("memory { main-heap-size 512M main-heap-page-size 4k }\n")
	b.WriteString("buffers { buffers-per-numa 16384 page-size 4k }\n")
	b.WriteString("plugins { plugin default { disable } plugin ping_plugin.so { enable } }\n")
	if v.opts.Workers > 0 {
		fmt.Fprintf(&b, "cpu { workers %d }\n", v.opts.Workers)
	}
	if v.opts.Config != "" {
		b.WriteString(v.opts.Config + "\n")
	}
	return b.String()
}

// Start starts VPP again in the same RUN directory with the same
// startup.conf (after Kill), and waits until it is ready.
func (v *VPP) Start() error {
	v.mu.Lock()
	if v.cmd != nil && !v.hasExited() {
		v.mu.Unlock()
		return fmt.Errorf("VPP %s is already running (pid %d)", v.Prefix, v.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(v.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		v.mu.Unlock()
		return err
	}
	cmd := exec.Command(v.bin("vpp"), "-c", filepath.Join(v.Run, "startup.conf"))
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(v.Dir, "lib"))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the test binary die, its VPPs die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		v.mu.Unlock()
		return fmt.Errorf("starting %s: %w", v.bin("vpp"), err)
	}
	exited := make(chan struct{})
	v.cmd, v.exited, v.state = cmd, exited, nil
	go func() {
		_ = cmd.Wait()
		v.mu.Lock()
		v.state = cmd.ProcessState
		v.mu.Unlock()
		close(exited)
	}()
	v.mu.Unlock()
	return v.waitReady()
}

// hasExited reports whether the current process has exited (mu held).
func (v *VPP) hasExited() bool {
	select {
	case <-v.exited:
		return true
	default:
		return false
	}
}

// Running reports whether VPP's process is alive (stopped counts as alive).
func (v *VPP) Running() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cmd != nil && !v.hasExited()
}

// Pid is the process id of the current (or last) VPP process.
func (v *VPP) Pid() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cmd == nil {
		return 0
	}
	return v.cmd.Process.Pid
}

// waitReady waits until the stats socket accepts a connection and the CLI
// answers `show version`. A socket left behind by a killed VPP refuses
// connections, so it is never taken for the new one.
func (v *VPP) waitReady() error {
	timeout := v.opts.StartTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	deadline := time.Now().Add(timeout)
	v.mu.Lock()
	exited := v.exited
	v.mu.Unlock()
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		select {
		case <-exited:
			return fmt.Errorf("VPP exited while starting (%v):\n%s", v.exitState(), v.logTail())
		default:
		}
		if accepts(v.StatsSocket()) {
			if out, err := v.CLI("show version"); err == nil && strings.HasPrefix(out, "vpp ") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("VPP not ready after %v (no stats socket or CLI):\n%s", timeout, v.logTail())
		}
		time.Sleep(pause)
	}
}

// accepts reports whether something listens on the SEQPACKET socket.
func accepts(path string) bool {
	c, err := net.DialTimeout("unixpacket", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (v *VPP) exitState() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state == nil {
		return "running"
	}
	return v.state.String()
}

// logTail is the end of VPP's output, for error messages.
func (v *VPP) logTail() string {
	b, _ := os.ReadFile(v.LogPath())
	const keep = 2000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return fmt.Sprintf("--- %s ---\n%s", v.LogPath(), b)
}

// Signal sends sig to VPP without waiting (SIGSTOP, SIGCONT, ...).
func (v *VPP) Signal(sig syscall.Signal) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cmd == nil || v.hasExited() {
		return fmt.Errorf("VPP %s is not running", v.Prefix)
	}
	return v.cmd.Process.Signal(sig)
}

// Kill sends sig (SIGTERM, SIGKILL, ...) and waits until VPP has exited.
// SIGKILL leaves stats.sock behind; SIGTERM lets VPP remove it.
func (v *VPP) Kill(sig syscall.Signal) error {
	v.mu.Lock()
	exited := v.exited
	v.mu.Unlock()
	if err := v.Signal(sig); err != nil {
		return err
	}
	if sig != syscall.SIGKILL {
		_ = v.Signal(syscall.SIGCONT) // a stopped VPP handles nothing else
	}
	select {
	case <-exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("VPP %s still running 30 s after %v", v.Prefix, sig)
	}
}

// Restart stops VPP with SIGTERM (if it runs) and starts it again.
func (v *VPP) Restart() error {
	if v.Running() {
		if err := v.Kill(syscall.SIGTERM); err != nil {
			return err
		}
	}
	return v.Start()
}

// Stop ends VPP: SIGTERM, then SIGKILL when it does not exit in 10 s.
func (v *VPP) Stop() {
	if !v.Running() {
		return
	}
	v.mu.Lock()
	exited := v.exited
	v.mu.Unlock()
	_ = v.Signal(syscall.SIGCONT)
	_ = v.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = v.Signal(syscall.SIGKILL)
		<-exited
	}
}

// Close stops VPP and removes everything it left: the RUN directory (and
// its tmpfs) and the api-segment files in /dev/shm.
func (v *VPP) Close() {
	v.Stop()
	if shm, _ := filepath.Glob("/dev/shm/" + v.Prefix + "-*"); len(shm) > 0 {
		for _, f := range shm {
			_ = os.Remove(f)
		}
	}
	for i := len(v.cleanup) - 1; i >= 0; i-- {
		v.cleanup[i]()
	}
	v.cleanup = nil
}

// CLI runs one VPP CLI command through vppctl and returns its output. VPP's
// CLI exits 0 on errors too, so an output that starts like VPP's error
// messages ("unknown input", or "<command>: ...") is returned as an error.
func (v *VPP) CLI(cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, v.bin("vppctl"), "-s", v.CLISocket(), cmd).CombinedOutput()
	text := string(out)
	if err != nil {
		return text, fmt.Errorf("vppctl %q: %w: %s", cmd, err, strings.TrimSpace(text))
	}
	if cliFailed(cmd, text) {
		return text, fmt.Errorf("vppctl %q: %s", cmd, strings.TrimSpace(text))
	}
	return text, nil
}

// cliFailed recognises VPP's CLI error output: a parse error, or a message
// prefixed by (part of) the command's path, e.g.
// "set interface state: unknown interface `loop9 up'".
func cliFailed(cmd, out string) bool {
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	if strings.HasPrefix(first, "unknown input") {
		return true
	}
	path, _, ok := strings.Cut(first, ":")
	return ok && path != "" && strings.HasPrefix(cmd, path)
}

// Exec runs a file of CLI commands (`vppctl exec FILE`).
func (v *VPP) Exec(file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	return v.CLI("exec " + abs)
}

// ExecLines writes lines to a file in the RUN directory and runs it with
// Exec: one vppctl call for many commands.
func (v *VPP) ExecLines(lines ...string) (string, error) {
	v.mu.Lock()
	v.execN++
	name := filepath.Join(v.Run, fmt.Sprintf("exec-%d.cli", v.execN))
	v.mu.Unlock()
	if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	defer os.Remove(name)
	return v.Exec(name)
}

// GetStats runs VPP's C reader on this VPP's stats socket.
func (v *VPP) GetStats(args ...string) (string, error) {
	return GetStats(v.StatsSocket(), args...)
}

var errNotRoot = errors.New("VPP needs root (it maps its shared memory and sockets as root)")
