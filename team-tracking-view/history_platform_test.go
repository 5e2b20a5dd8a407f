package view_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	view "github.com/teamtrack/team-tracking-view"
	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/alerting/webhook"
	"github.com/teamtrack/tracking-core/alerting/webpush"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/sqlitehistory"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/messaging"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/wire"
)

// historyPlatform is the view in front of real tracking replicas
// (tracking-core in process, on the memory broadcaster), as a gateway puts
// it: strategy redis goes to a replica with a SQLite history, strategy
// kafka to one without (its history and replay answer 501). A reverse
// proxy maps /tracking/{strategy}/... to the replica's /tracking/...
// without buffering, and records every request it passes on; / is the
// view and GET /auth/config says mode none.
type historyPlatform struct {
	URL string
	// Redis is the replica with history; Store its history store.
	Redis *servicetest.Replica
	Store history.Store
	// Alerts is the redis replica's alerting store (geofences, alert
	// events), with platformOptions.alerts; else nil.
	Alerts alerting.Store
	// Messages is the redis replica's message store, with
	// platformOptions.messages; else nil (its messages routes answer 501).
	Messages messaging.Store

	mu        sync.Mutex
	seen      []*url.URL // the page's requests under /tracking/, as it sent them
	replaying int        // replay requests in progress
}

// platformOptions vary the platform of a test.
type platformOptions struct {
	// alerts gives the redis replica an alerting store (SQLite), as
	// HISTORY_DSN does: geofences, their evaluation, alert events.
	alerts bool
	// push adds Web Push to the alerts (implies alerts): the routes under
	// .../push, a webhook.Dispatcher with a webpush.Sender, VAPID keys
	// generated and kept in the store, as the service does.
	push bool
	// messages gives the redis replica a message store (SQLite), as
	// HISTORY_DSN does: POST/GET .../messages, dispatch to worker
	// WebSockets, delivery events on the stream.
	messages bool
	// api, if set, changes more of the redis replica's settings.
	api func(*httpapi.Config)
	// routes, if set, adds routes in front of the replicas.
	routes func(*http.ServeMux)
}

func startHistoryPlatform(t *testing.T) *historyPlatform {
	t.Helper()
	return startPlatform(t, platformOptions{})
}

func startPlatform(t *testing.T, opts platformOptions) *historyPlatform {
	t.Helper()
	st, err := sqlitehistory.Open(context.Background(), sqlitehistory.Config{Path: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	w := history.NewWriter(st, history.WriterConfig{Linger: 5 * time.Millisecond})
	t.Cleanup(func() { _ = w.Close(); _ = st.Close() }) // after the replica stops
	p := &historyPlatform{Store: st}
	cfg := httpapi.Config{History: w, RecordsPerSecond: -1}
	if opts.alerts || opts.push {
		al, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "alerts.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = al.Close() }) // after the replica stops
		p.Alerts = al
		cfg.Alerts = &httpapi.Alerts{Store: al}
	}
	if opts.push {
		sender, err := webpush.New(webpush.Config{Keys: webpush.StoredKeys(p.Alerts)})
		if err != nil {
			t.Fatal(err)
		}
		d, err := webhook.New(webhook.Config{Store: p.Alerts, Push: sender, Poll: 50 * time.Millisecond,
			BackoffBase: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close(); sender.Close() }) // after the replica stops
		cfg.Alerts = &httpapi.Alerts{Store: p.Alerts, Notify: d.Notify, PushKey: sender.PublicKey}
		cfg.DefinitionsPoll = 50 * time.Millisecond
	}
	if opts.api != nil {
		opts.api(&cfg)
	}
	svc := service.Config{API: cfg}
	if opts.messages {
		ms, err := sqlitemessaging.Open(context.Background(), sqlitemessaging.Config{Path: filepath.Join(t.TempDir(), "messages.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ms.Close() }) // after the replica stops
		p.Messages, svc.Messages = ms, ms
	}
	p.Redis = servicetest.StartReplicaConfig(t, memory.New(memory.NewBackend(), memory.Config{}), svc)
	noHistory := servicetest.StartReplica(t, memory.New(memory.NewBackend(), memory.Config{}),
		httpapi.Config{RecordsPerSecond: -1})
	replicas := map[string]*url.URL{"redis": mustParse(t, p.Redis.URL), "kafka": mustParse(t, noHistory.URL)}

	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(replicas[r.In.PathValue("strategy")])
			r.Out.URL.Path = "/tracking/" + r.In.PathValue("rest")
			r.Out.URL.RawPath = ""
		},
		FlushInterval: -1, // Server-Sent Events: every write at once
	}
	mux := http.NewServeMux()
	mux.Handle("/", view.Handler())
	mux.HandleFunc("GET /auth/config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"mode": "none"})
	})
	if opts.routes != nil {
		opts.routes(mux)
	}
	mux.HandleFunc("/tracking/{strategy}/{rest...}", func(w http.ResponseWriter, r *http.Request) {
		if replicas[r.PathValue("strategy")] == nil {
			http.NotFound(w, r)
			return
		}
		replay := strings.HasSuffix(r.URL.Path, "/replay")
		p.mu.Lock()
		p.seen = append(p.seen, r.URL)
		if replay {
			p.replaying++
		}
		p.mu.Unlock()
		if replay {
			defer func() {
				p.mu.Lock()
				p.replaying--
				p.mu.Unlock()
			}()
		}
		proxy.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// requests returns the queries of the requests the page made to path.
func (p *historyPlatform) requests(path string) []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []url.Values
	for _, u := range p.seen {
		if u.Path == path {
			out = append(out, u.Query())
		}
	}
	return out
}

// activeReplays is how many replay requests the proxy is still serving.
func (p *historyPlatform) activeReplays() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.replaying
}

// publish posts positions to the history replica as a worker does (they
// go live, and into its history).
func (p *historyPlatform) publish(t *testing.T, positions []tracking.Position) {
	t.Helper()
	var body bytes.Buffer
	for i := range positions {
		body.Write(wire.AppendPosition(nil, &positions[i]))
		body.WriteByte('\n')
	}
	sum, err := servicetest.Post(p.Redis.URL+"/tracking", &body)
	if err != nil || sum.Accepted != len(positions) {
		t.Fatalf("publish %d positions: %+v, %v", len(positions), sum, err)
	}
}

// write puts records straight into the history store, as if the
// replica had ingested them then.
func (p *historyPlatform) write(t *testing.T, positions []tracking.Position) {
	t.Helper()
	recs := make([]history.Record, len(positions))
	for i, pos := range positions {
		recs[i] = history.Record{Position: pos, Received: pos.TimeStamp}
	}
	if err := p.Store.Write(t.Context(), recs); err != nil {
		t.Fatalf("write %d records: %v", len(recs), err)
	}
}

// track is the positions of one worker of team_one: n fixes every step
// from start, moving north from (lat, lng) by 0.0001° a fix.
func track(worker string, start time.Time, n int, step time.Duration, lat, lng float64) []tracking.Position {
	out := make([]tracking.Position, n)
	for k := range n {
		out[k] = tracking.Position{
			ID: fmt.Sprintf("%s.%d", worker, k), WorkerID: worker, Team: "team_one",
			Location:  tracking.Location{Latitude: lat + float64(k)*0.0001, Longitude: lng},
			TimeStamp: start.Add(time.Duration(k) * step),
		}
	}
	return out
}
