package main

import (
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"
)

// goRun runs the gateway (run, as main does) in a goroutine with the test's
// environment: a free HTTP_ADDR, LOG_LEVEL=error, the AUTH_ variables of
// authEnv and no other (so that those the tests run in do not leak in), and
// env. It returns the gateway's base URL and where run's result comes.
func goRun(t *testing.T, authEnv, env map[string]string) (string, <-chan error) {
	t.Helper()
	for _, k := range []string{"AUTH_MODE", "AUTH_JWT_SECRET", "AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE"} {
		t.Setenv(k, authEnv[k])
	}
	addr := testsupport.FreeAddr(t)
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("LOG_LEVEL", "error")
	for k, v := range env {
		t.Setenv(k, v)
	}
	done := make(chan error, 1)
	go func() { done <- run() }()
	return "http://" + addr, done
}

// waitUp waits until the gateway at base answers /healthz, and returns a
// client of it whose idle connections are closed at the end of the test.
func waitUp(t *testing.T, base string, done <-chan error) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	testsupport.Eventually(t, 10*time.Second, "the gateway to answer /healthz", func() bool {
		select {
		case err := <-done:
			t.Fatalf("run: %v", err)
		default:
		}
		res, err := client.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil
	})
	return client
}

// sigterm stops the gateway as its supervisor would.
func sigterm(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// returned waits for run to return, up to 10s, and returns its result.
func returned(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after SIGTERM")
		return nil
	}
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
