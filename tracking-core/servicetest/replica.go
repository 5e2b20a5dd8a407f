package servicetest

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/service"
)

// Replica is one running tracking replica on 127.0.0.1.
type Replica struct {
	URL      string // http://127.0.0.1:port
	WS       string // ws://127.0.0.1:port
	Registry *prometheus.Registry
	Routes   []string // the patterns its API serves (httpapi.API.Routes)
	stop     context.CancelFunc
	done     chan error
}

// StartReplica serves b on a free loopback port until Stop or the end of the test.
func StartReplica(t testing.TB, b tracking.Broadcaster, api httpapi.Config) *Replica {
	t.Helper()
	return StartReplicaConfig(t, b, service.Config{API: api})
}

// StartReplicaConfig is StartReplica with the service's whole config (its
// address, registry and shutdown timeout are set here).
func StartReplicaConfig(t testing.TB, b tracking.Broadcaster, cfg service.Config) *Replica {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.HTTPAddr, cfg.Registry, cfg.ShutdownTimeout = "127.0.0.1:0", reg, 5*time.Second
	svc, err := service.New(cfg, b)
	if err != nil {
		_ = b.Close()
		t.Fatalf("start replica: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Replica{
		URL:      fmt.Sprintf("http://%s", svc.Addr()),
		WS:       fmt.Sprintf("ws://%s", svc.Addr()),
		Registry: reg,
		Routes:   svc.Routes(),
		stop:     cancel,
		done:     make(chan error, 1),
	}
	go func() { r.done <- svc.Run(ctx) }()
	t.Cleanup(r.Stop)
	waitReady(t, r.URL)
	return r
}

// Stop shuts the replica down in order and waits for it.
func (r *Replica) Stop() {
	r.stop()
	err := <-r.done
	r.done <- err // later calls return at once
}

// Counter reads a counter (summed over labels) from the replica's registry.
func (r *Replica) Counter(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := r.Registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil {
				sum += c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				sum += g.GetValue()
			}
		}
	}
	return sum
}

func waitReady(t testing.TB, base string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not ready after 15s (last error %v)", base, err)
		}
		time.Sleep(20 * time.Millisecond) // polling for readiness
	}
}
