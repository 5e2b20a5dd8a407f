package simulator

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// ndjsonConn is a worker's streaming POST (apiclient.PostStream): each record
// goes out as one HTTP chunk; the server's summary comes when the body ends.
type ndjsonConn struct {
	p      *apiclient.PostStream
	env    *runEnv
	url    string
	header http.Header
	w      *worker   // takes the summary's sampling advice; nil in benchmarks
	once   sync.Once // counts the summary once
}

var _ conn = (*ndjsonConn)(nil)

// dialNDJSON starts the POST and returns once the server takes its body, so
// that a refused connection (401, 403, 503) is a dial error as with
// WebSocket. The run's hard stop cuts the request.
func dialNDJSON(_ context.Context, env *runEnv, c *apiclient.Client, header http.Header, w *worker) (*ndjsonConn, error) {
	p, err := c.OpenPost(env.hard)
	if err != nil {
		return nil, refusal(err, header)
	}
	return &ndjsonConn{p: p, env: env, url: c.BaseURL(), header: header, w: w}, nil
}

// account counts the records the server's summary rejected, and takes its
// sampling advice for the next POST, once.
func (n *ndjsonConn) account() {
	n.once.Do(func() {
		s := n.p.Answer()
		if s.Config != nil {
			if n.w != nil {
				n.w.advise(s.Config.Interval)
			} else {
				n.env.c.advice.Add(1)
			}
		}
		if s.Rejected == 0 {
			return
		}
		n.env.c.errors.Add(int64(s.Rejected))
		if n.w != nil {
			for _, e := range s.Errors {
				n.w.noteRejected(e.ID)
			}
		}
		if len(s.Errors) > 0 {
			e := s.Errors[0]
			n.env.c.fail(fmt.Errorf("server rejected record %s: %s: %s", e.ID, e.Code, e.Message))
		}
		n.env.log.Debug("records rejected", "url", n.url, "accepted", s.Accepted, "rejected", s.Rejected)
	})
}

func (n *ndjsonConn) send(rec []byte) error {
	_, err := n.p.Write(rec)
	return err
}

func (n *ndjsonConn) done() <-chan struct{} { return n.p.Done() }

func (n *ndjsonConn) err() error {
	err := n.p.Err()
	select {
	case <-n.p.Done():
		n.account()
	default:
	}
	if err == nil {
		return errStreamClosed
	}
	return refusal(err, n.header)
}

func (n *ndjsonConn) abort() { n.p.CloseNow() }

// close ends the body, which makes the server answer with its summary, and
// waits for that answer within closeTimeout.
func (n *ndjsonConn) close() {
	_, _ = n.p.Close()
	n.account()
}
