package service

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/devices"
	"github.com/teamtrack/tracking-core/devices/sqlitedevices"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
)

// OSMAND_ADDR serves the OsmAnd protocol alone, on any path: a registered
// device's fix is taken at the root, as Traccar Client sends it to
// host:port; other methods are refused.
func TestOsmAndListener(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitedevices.Open(ctx, sqlitedevices.Config{Path: filepath.Join(t.TempDir(), "d.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const secret = "osmand-listener-secret"
	if _, _, err := st.Put(ctx, devices.Device{ID: "4242", Team: "team_one", Worker: "w1",
		SecretHash: devices.HashSecret(secret), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b := memory.New(memory.NewBackend(), memory.Config{})
	svc, err := New(Config{HTTPAddr: "127.0.0.1:0", OsmAndAddr: "127.0.0.1:0", API: httpapi.Config{Devices: st}}, b)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(rctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	base := fmt.Sprintf("http://%s", svc.OsmAndAddr())
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", fmt.Sprintf("/?id=4242&lat=48.1&lon=11.5&timestamp=%d&key=%s", time.Now().Unix(), secret), 200},
		{"POST", fmt.Sprintf("/anything?id=4242&lat=48.1&lon=11.5&key=%s", secret), 200},
		{"GET", "/?id=4242&lat=48.1&lon=11.5&key=wrong-secret-wrong", 401},
		{"DELETE", "/?id=4242", 404},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
	}
	last, err := b.Last(ctx, "team_one")
	if err != nil || len(last) == 0 {
		t.Fatalf("w1's position did not reach the broker: %v %v", last, err)
	}
}
