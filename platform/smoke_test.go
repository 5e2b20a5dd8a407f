package platform_test

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

	"github.com/teamtrack/team-tracking-view/browsertest"
)

// TestOneCommandPlatform runs the README's first command (scripts/run-local.sh)
// on other ports, in its default auth mode (dev: AUTH_MODE unset), finds the
// simulator's 95 workers of team_one and 80 of team_two through the gateway
// (with a token from its dev login: the simulator's own tokens got them in),
// checks the map in headless Chromium (which signs in the same way), stops
// it with SIGINT and finds none of its processes left.
func TestOneCommandPlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole platform")
	}
	chromium := browsertest.RequireChromium(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	const port = 19080 // below the test servers' random ports (20000-32767) and the ephemeral range
	logDir := t.TempDir()
	cmd := exec.Command("bash", "scripts/run-local.sh")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), fmt.Sprintf("GATEWAY_PORT=%d", port), "PLATFORM_LOG_DIR="+logDir)
	for _, v := range []string{"REDIS_ADDR", "KAFKA_BROKERS", "CONSUL_HTTP_ADDR", "AUTH_MODE"} {
		cmd.Env = append(cmd.Env, v+"=") // the embedded defaults, auth mode dev
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	up := make(chan struct{})
	var authLine string // the progress line saying the auth mode; read once up is closed
	var output strings.Builder
	go func() {
		sc, isUp := bufio.NewScanner(out), false
		for sc.Scan() {
			line := sc.Text()
			output.WriteString(line + "\n")
			if !isUp && strings.HasPrefix(line, "[platform] auth mode ") {
				authLine = line
			}
			if !isUp && strings.HasPrefix(line, "[platform] up:") {
				isUp = true
				close(up)
			}
		}
		_, _ = io.Copy(io.Discard, out)
		exited <- cmd.Wait()
	}()
	stopped := false
	defer func() {
		if !stopped {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Logf("platform killed: %v", <-exited)
		}
		if t.Failed() {
			t.Logf("platform output:\n%s", output.String())
			dumpLogs(t, logDir)
		}
	}()

	select {
	case <-up:
	case err := <-exited:
		stopped = true
		t.Fatalf("platform exited before it was up: %v", err)
	case <-time.After(10 * time.Minute):
		t.Fatal("platform not up within 10 minutes (build included)")
	}

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if !strings.HasPrefix(authLine, "[platform] auth mode dev") {
		t.Errorf("progress line %q, want one saying auth mode dev (AUTH_MODE unset) before the platform was up", authLine)
	}
	token := devLogin(t, base, "team_one", "team_two")
	for _, c := range []struct {
		path string
		want int
	}{{"/tracking/redis/team_one/positions", 95}, {"/tracking/kafka/team_two/positions", 80}} {
		// Without a token the platform refuses (mode dev checks tokens).
		if _, err := countPositions(base+c.path, ""); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("%s without a token: %v, want 401", c.path, err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			n, err := countPositions(base+c.path, token)
			if err == nil && n == c.want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d workers (err %v) 60s after the platform was up, want %d", c.path, n, err, c.want)
			}
			time.Sleep(200 * time.Millisecond) // polling the simulator's progress
		}
	}

	browsertest.Check(t, base, browsertest.Expectations{
		Strategy: "redis", Team: "team_one", Workers: 95,
		SwitchStrategy: "kafka", SwitchTeam: "team_two", SwitchWorkers: 80,
		Timeout:      15 * time.Second,
		ChromiumPath: chromium,
		Screenshot:   filepath.Join(cmp.Or(os.Getenv("VIEW_SCREENSHOT_DIR"), os.TempDir()), "platform-view.png"),
		Logf:         t.Logf,
	})

	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("platform exited with %v after SIGINT", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("platform still running 60s after SIGINT")
	}
	if left := processesUnder(t, filepath.Join(root, "bin")); len(left) > 0 {
		t.Fatalf("processes left after SIGINT: %v", left)
	}
}

// devLogin gets a manager token of teams from the gateway's dev login.
func devLogin(t *testing.T, base string, teams ...string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"subject": "platform-smoke-test", "role": "manager", "teams": teams})
	resp, err := http.Post(base+"/auth/dev-login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Token string }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil || v.Token == "" {
		t.Fatalf("POST /auth/dev-login: %s, no token", resp.Status)
	}
	return v.Token
}

// countPositions counts the positions at url, presenting token if not "".
func countPositions(url, token string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s", resp.Status)
	}
	var arr []json.RawMessage
	err = json.NewDecoder(resp.Body).Decode(&arr)
	return len(arr), err
}

// processesUnder lists running processes whose executable is in dir.
func processesUnder(t *testing.T, dir string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, dir+string(filepath.Separator)) {
			out = append(out, e.Name()+" "+exe)
		}
	}
	return out
}

func dumpLogs(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if len(b) > 3000 {
			b = b[len(b)-3000:]
		}
		t.Logf("--- %s (tail)\n%s", filepath.Base(f), b)
	}
}
