package integration_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, b := range []*build{&serviceBinaries, &simulatorBinary} {
		if b.dir != "" {
			os.RemoveAll(b.dir)
		}
	}
	os.Exit(code)
}

// build is one `go build` of workspace commands, run at most once per test
// binary, into a directory of its own.
type build struct {
	once sync.Once
	dir  string
	err  error
}

var (
	serviceBinaries = build{}
	simulatorBinary = build{}
)

// binDir builds the api-gateway, tracking-redis and tracking-kafka binaries
// (once) and returns their directory.
func binDir(t *testing.T) string {
	t.Helper()
	return serviceBinaries.get(t, "gwit-bin-",
		"./api-gateway/cmd/api-gateway", "./tracking-redis/cmd/tracking-redis", "./tracking-kafka/cmd/tracking-kafka")
}

// simulatorPath builds team-simulator (once) and returns its path.
func simulatorPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(simulatorBinary.get(t, "gwit-sim-", "./team-simulator/cmd/team-simulator"), "team-simulator")
}

func (b *build) get(t *testing.T, prefix string, pkgs ...string) string {
	t.Helper()
	b.once.Do(func() {
		root, err := repoRoot()
		if err != nil {
			b.err = err
			return
		}
		if b.dir, b.err = os.MkdirTemp("", prefix); b.err != nil {
			return
		}
		start := time.Now()
		cmd := exec.Command("go", append([]string{"build", "-o", b.dir + string(os.PathSeparator)}, pkgs...)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s (in %s): %v\n%s", strings.Join(pkgs, " "), root, err, out)
			return
		}
		t.Logf("built %s in %v", strings.Join(pkgs, " "), time.Since(start).Round(time.Millisecond))
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.dir
}

// repoRoot is the workspace root: the test runs in api-gateway/integration.
func repoRoot() (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		return "", fmt.Errorf("workspace root not found at %s (the tests run from api-gateway/integration): %w", root, err)
	}
	return root, nil
}

// consulLock serialises the runs of this package that share one Consul
// agent on this machine: the gateway follows fixed service names, so two runs
// at once would route to each other's replicas. The lock is taken once and
// held until the test binary exits (the kernel releases it then, also on a
// crash).
var consulLock struct {
	once sync.Once
	err  error
}

func lockConsul(t *testing.T, consulAddr string) {
	t.Helper()
	consulLock.once.Do(func() {
		name := regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(consulAddr, "_")
		path := filepath.Join(os.TempDir(), "teamtrack-gwit-"+name+".lock")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			consulLock.err = fmt.Errorf("lock file: %w", err)
			return
		}
		// Kept open (and locked) for the life of the process on purpose.
		deadline := time.Now().Add(5 * time.Minute)
		logged := false
		for {
			err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err == nil {
				return
			}
			if err != syscall.EWOULDBLOCK {
				consulLock.err = fmt.Errorf("flock %s: %w", path, err)
				return
			}
			if time.Now().After(deadline) {
				consulLock.err = fmt.Errorf("another run of these tests has held %s for 5 minutes", path)
				return
			}
			if !logged {
				t.Logf("waiting for another run of these tests against consul %s to finish (%s)", consulAddr, path)
				logged = true
			}
			time.Sleep(250 * time.Millisecond) // polling the lock
		}
	})
	if consulLock.err != nil {
		t.Fatal(consulLock.err)
	}
}
