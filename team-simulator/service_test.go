package simulator

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// service is one replica of the real tracking handlers on 127.0.0.1, with
// what the tests read from it.
type service struct {
	*servicetest.Replica
	tokens *tokenLog // the tokens it let in; nil without api.Verifier
}

// startReplicas serves one replica per API config, all sharing one in-memory
// broker, as the reference workloads run them.
func startReplicas(t *testing.T, apis ...httpapi.Config) []*service {
	t.Helper()
	backend := memory.NewBackend()
	out := make([]*service, len(apis))
	for i, api := range apis {
		s := &service{}
		if api.Verifier != nil {
			s.tokens = &tokenLog{Verifier: api.Verifier}
			api.Verifier = s.tokens
		}
		s.Replica = servicetest.StartReplica(t, memory.New(backend, memory.Config{}), api)
		out[i] = s
	}
	return out
}

func startService(t *testing.T, api httpapi.Config) *service { return startReplicas(t, api)[0] }

// base is the base URL of the API.
func (s *service) base() string { return s.URL + "/tracking/" }

// records counts the records the service accepted and those it rejected.
func (s *service) records(t *testing.T) (accepted, rejected int64) {
	t.Helper()
	mfs, err := s.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "tracking_records_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			n := int64(m.GetCounter().GetValue())
			for _, l := range m.GetLabel() {
				switch {
				case l.GetName() != "result":
				case l.GetValue() == "accepted":
					accepted += n
				default:
					rejected += n
				}
			}
		}
	}
	return accepted, rejected
}

func (s *service) accepted(t *testing.T) int64 {
	t.Helper()
	n, _ := s.records(t)
	return n
}

// lastPositions is what GET /tracking/{team}/positions answers.
func (s *service) lastPositions(t *testing.T, team string) []json.RawMessage {
	t.Helper()
	recs, err := apiclient.MustNew(s.base(), apiclient.Config{}).LastPositions(context.Background(), team)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// tokenLog is the service's Verifier, recording the tokens it let in.
type tokenLog struct {
	auth.Verifier
	mu   sync.Mutex
	seen []seenToken
}

type seenToken struct {
	token  string
	claims *auth.Claims
}

func (l *tokenLog) Verify(ctx context.Context, token string) (*auth.Claims, error) {
	c, err := l.Verifier.Verify(ctx, token)
	if err == nil {
		l.mu.Lock()
		l.seen = append(l.seen, seenToken{token, c})
		l.mu.Unlock()
	}
	return c, err
}

func (l *tokenLog) all() []seenToken {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]seenToken(nil), l.seen...)
}

// answers is the simulator's HTTP transport, counting the service's answers
// as the simulator gets them.
type answers struct {
	*http.Transport
	upgrades    atomic.Int64 // WebSockets the service accepted (101)
	posts       atomic.Int64 // POSTs started
	postAnswers atomic.Int64 // POSTs answered 200: their body ended and the summary came
	refused     atomic.Int64 // requests answered 401 or 403
}

// countAnswers returns a client for Config.HTTPClient and what it counts.
func countAnswers(t *testing.T) (*http.Client, *answers) {
	a := &answers{Transport: newHTTPClient().Transport.(*http.Transport)}
	t.Cleanup(a.CloseIdleConnections)
	return &http.Client{Transport: a}, a
}

func (a *answers) RoundTrip(r *http.Request) (*http.Response, error) {
	post := r.Method == http.MethodPost
	if post {
		a.posts.Add(1)
	}
	resp, err := a.Transport.RoundTrip(r)
	switch {
	case err != nil:
	case resp.StatusCode == http.StatusSwitchingProtocols:
		a.upgrades.Add(1)
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		a.refused.Add(1)
	case post && resp.StatusCode == http.StatusOK:
		a.postAnswers.Add(1)
	}
	return resp, err
}
