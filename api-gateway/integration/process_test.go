package integration_test

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"
)

// proc is one child process: a replica or the gateway, listening on addr,
// logging to a file in the test's temp dir.
type proc struct {
	name      string
	addr      string // 127.0.0.1:port
	logPath   string
	readyPath string // the path waitReady polls: /readyz unless set
	cmd       *exec.Cmd
	done      chan struct{} // closed once the process has been waited for
	waitErr   error
}

// startProc starts bin with a minimal environment plus env (HTTP_ADDR is
// added), on a free port, logging to dir/name.log. It does not wait for
// readiness. The process is
// stopped with SIGTERM at the end of the test (SIGKILL if it does not stop),
// and killed with the test binary if that dies first.
func startProc(t *testing.T, dir, name, bin string, env []string) *proc {
	t.Helper()
	p := &proc{name: name, addr: testsupport.FreeAddr(t), logPath: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close() // the child has its own descriptor
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(baseEnv(), env...)
	p.cmd.Env = append(p.cmd.Env, "HTTP_ADDR="+p.addr)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t, 20*time.Second) })
	return p
}

// baseEnv is what every child gets from the test's environment: nothing that
// configures the services, so a developer's REDIS_ADDR or LOG_LEVEL cannot
// change what is tested.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	// These tests are about routing and discovery, not tokens (the auth
	// checks have their own tests): run every process without them.
	return append(env, "AUTH_MODE=none")
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to grace, then SIGKILLs.
func (p *proc) stop(t *testing.T, grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		t.Errorf("%s did not stop within %v of SIGTERM; killing it", p.name, grace)
		p.kill()
	}
}

// kill sends SIGKILL (no shutdown, no deregistration) and waits for the exit.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// url is the process's base URL.
func (p *proc) url() string { return "http://" + p.addr }

// waitReady polls /readyz (or readyPath) until it answers 200, or returns
// an error when the process exits first.
func (p *proc) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if p.exited() {
			return fmt.Errorf("%s exited before it was ready: %v", p.name, p.waitErr)
		}
		res, err := client.Get(p.url() + cmp.Or(p.readyPath, "/readyz"))
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", res.StatusCode, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %s", p.name, timeout, last)
		}
		time.Sleep(50 * time.Millisecond) // polling for readiness
	}
}

// logLine is one JSON line of a service's log, with the fields the tests read.
type logLine struct {
	Time    time.Time `json:"time"`
	Msg     string    `json:"msg"`
	Service string    `json:"service"`
	ID      string    `json:"id"`
	// Instances is a list of addresses in "healthy instances" lines, a count
	// in others.
	Instances json.RawMessage `json:"instances"`
}

// addrs returns the addresses of a "healthy instances" line.
func (l logLine) addrs() []string {
	var out []string
	_ = json.Unmarshal(l.Instances, &out)
	return out
}

// logLines parses the process's log so far (lines that are not JSON are left out).
func (p *proc) logLines() []logLine {
	f, err := os.Open(p.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []logLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// consulID is the service ID the replica logged when it registered.
func (p *proc) consulID() string {
	for _, l := range p.logLines() {
		if l.Msg == "registered with consul" && l.ID != "" {
			return l.ID
		}
	}
	return ""
}

// dumpLogsOnFailure registers, before any process starts and after the
// logs' t.TempDir (whose removal must run later), a cleanup that prints the
// tail of every process log when the test failed (it runs after the
// processes have stopped, so the logs are complete) and keeps a copy of the
// logs outside the test's temp dir, which is removed.
func dumpLogsOnFailure(t *testing.T, procs func() []*proc) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		keep, err := os.MkdirTemp("", "gwit-logs-")
		for _, p := range procs() {
			b, rerr := os.ReadFile(p.logPath)
			if rerr != nil {
				t.Logf("log of %s: %v", p.name, rerr)
				continue
			}
			if err == nil {
				_ = os.WriteFile(filepath.Join(keep, p.name+".log"), b, 0o644)
			}
			t.Logf("---- last lines of %s (%s) ----\n%s", p.name, p.addr, tail(string(b), 40))
		}
		if err == nil {
			t.Logf("full logs kept in %s", keep)
		}
	})
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// runShell runs one of the TEST_*_CMD command lines.
func runShell(t *testing.T, cmdline string) {
	t.Helper()
	if out, err := exec.Command("sh", "-c", cmdline).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, out)
	}
}
