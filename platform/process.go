package platform

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Process is one child of the platform: a binary with its environment.
type Process struct {
	Name     string   // e.g. "tracking-redis-1"
	Path     string   // binary
	Args     []string // arguments
	Env      []string // KEY=VALUE added to the inherited environment
	ReadyURL string   // polled until 200 before the next process starts; empty: none
	LogDir   string   // stdout and stderr go to LogDir/Name.log

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, set before exited is closed
}

// Start launches the process. It dies with the platform even if the platform
// is killed without a chance to stop it (Pdeathsig).
func (p *Process) Start() error {
	if err := os.MkdirAll(p.LogDir, 0o755); err != nil {
		return err
	}
	logf, err := os.Create(p.LogFile())
	if err != nil {
		return err
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.cmd = cmd
	p.exited = make(chan struct{})
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	return nil
}

// LogFile is where the process's output goes.
func (p *Process) LogFile() string { return filepath.Join(p.LogDir, p.Name+".log") }

// WaitReady polls ReadyURL until it answers 200, the process exits, or ctx ends.
func (p *Process) WaitReady(ctx context.Context) error {
	if p.ReadyURL == "" {
		return nil
	}
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(p.ReadyURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			//nolint:errorlint // err is nil after a clean exit: %v says <nil> where %w would not.
			return fmt.Errorf("%s exited while starting (%v); see %s", p.Name, p.err, p.LogFile())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w", p.Name, p.ReadyURL, ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop sends SIGTERM and waits up to grace for the exit, then kills. It does
// nothing if the process is not running.
func (p *Process) Stop(grace time.Duration) {
	if p.cmd == nil {
		return
	}
	defer func() { p.cmd = nil }()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}
