package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process whose output is scanned line by line (onLine,
// if set) and whose last lines are kept for error messages.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // valid after done is closed

	mu   sync.Mutex
	tail []string
	// problems are the first warning and error lines of a collector's log
	// (its stack traces would push them out of tail).
	problems []string
	// dropped: the collector logged that it dropped data for good, so
	// waiting for more scrapes is pointless.
	dropped bool
}

const tailLines = 40

// startProc runs bin with args and extra environment. Output lines go to
// onLine (called from one goroutine) and into the kept tail.
func startProc(name string, env []string, onLine func(string), bin string, args ...string) (*proc, error) {
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	// A harness that dies must not leave collectors or exporters behind.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r, w := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if len(p.problems) < 5 && (strings.Contains(line, "\terror\t") || strings.Contains(line, "\twarn\t")) {
				p.problems = append(p.problems, line)
			}
			p.dropped = p.dropped || strings.Contains(line, "Dropping data")
			p.tail = append(p.tail, line)
			if len(p.tail) > tailLines {
				p.tail = p.tail[len(p.tail)-tailLines:]
			}
			p.mu.Unlock()
			if onLine != nil {
				onLine(line)
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	go func() {
		p.err = p.cmd.Wait()
		w.Close()
		close(p.done)
	}()
	return p, nil
}

// output returns the first warnings and errors and the last lines the
// process printed.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	if len(p.problems) > 0 {
		b.WriteString("first warnings/errors:\n" + strings.Join(p.problems, "\n") + "\nlast lines:\n")
	}
	b.WriteString(strings.Join(p.tail, "\n"))
	return b.String()
}

func (p *proc) droppedData() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process: SIGTERM, then SIGKILL after 10 s.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// failure describes why the process is no longer usable: on its first
// line the first error it logged, then its output.
func (p *proc) failure(what string) error {
	state := "still running"
	if p.exited() {
		state = fmt.Sprintf("exited (%v)", p.err)
	}
	first := ""
	p.mu.Lock()
	for _, l := range p.problems {
		if m := logError.FindStringSubmatch(l); m != nil {
			first = "; first error: " + m[1]
			break
		}
	}
	p.mu.Unlock()
	return fmt.Errorf("%s: %s %s%s; its output:\n%s", what, p.name, state, first, p.output())
}

var logError = regexp.MustCompile(`"error": "((?:[^"\\]|\\.)*)"`)

// usage is what /proc says about a process at one moment.
type usage struct {
	cpu      time.Duration // utime + stime, all threads
	rss, hwm int64         // resident set now and its peak, bytes
	at       time.Time
}

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTick = 100

func readUsage(pid int) (usage, error) {
	u := usage{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// The command name (field 2) may hold spaces: fields count from the
	// last ')'. utime and stime are fields 14 and 15.
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return u, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return u, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	u.cpu = time.Duration(ut+st) * time.Second / clockTick
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return u, fmt.Errorf("/proc/%d/status %s: %q", pid, k, v)
		}
		if k == "VmRSS" {
			u.rss = kb << 10
		} else {
			u.hwm = kb << 10
		}
	}
	return u, nil
}

// waitUntil polls cond every 50 ms until it holds, the process exits or
// timeout passes.
func waitUntil(p *proc, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if p != nil && (p.exited() || p.droppedData()) {
			return p.failure("waiting for " + what)
		}
		if time.Now().After(deadline) {
			if p != nil {
				return p.failure(fmt.Sprintf("no %s after %v", what, timeout))
			}
			return fmt.Errorf("no %s after %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
