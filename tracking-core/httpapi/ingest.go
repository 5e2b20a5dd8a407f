package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/fencing"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/presence"
	"github.com/teamtrack/tracking-core/wire"
)

// ingestor accepts records of one transport: decode, validate, publish, count.
type ingestor struct {
	a        *API
	claims   *auth.Claims
	limit    *bucket
	over     bool // past the hard limit: the connection should end
	accepted prometheus.Counter
	rejected *prometheus.CounterVec
	label    string
	presence *presence.Conn
	fences   *fencing.Conn // nil without alerts
	mail     *workerMail   // nil without dispatch and advice
}

func (a *API) ingestor(transport string, claims *auth.Claims) *ingestor {
	limit := newBucket(a.cfg.RecordsPerSecond, a.cfg.RecordBurst, a.cfg.HardRejectsPerSecond)
	pres := a.presence.Posting()
	if transport == "ws" {
		pres = a.presence.WebSocket()
	}
	in := &ingestor{a: a, claims: claims, limit: limit, accepted: a.m.records.WithLabelValues(transport, "accepted"),
		rejected: a.m.records, label: transport, presence: pres}
	if a.fences != nil {
		in.fences = a.fences.Conn()
	}
	return in
}

// end releases what the connection holds (presence ends apart: its reason
// is the transport's to give).
func (in *ingestor) end() {
	if in.fences != nil {
		in.fences.End()
	}
	in.mail.close()
}

// accept publishes one record, or returns why not with the record id if known.
func (in *ingestor) accept(ctx context.Context, rec []byte) (id string, err error) {
	now := time.Now()
	if err, over := in.limit.take(now); err != nil {
		in.over = in.over || over
		in.reject(err)
		return "", err
	}
	p, err := wire.DecodePosition(rec, now)
	if err == nil {
		err = in.claims.CanPublish(p.Team, p.WorkerID)
	}
	if err == nil {
		// A fix much older than now was buffered by the phone: managers see it
		// marked late (it never moves a worker's last position back).
		p.Late = now.Sub(p.TimeStamp) > tracking.LateAfter
		one := oneMessage.Get().(*[1]tracking.Message)
		one[0] = wire.NewMessage(&p, now)
		err = in.a.b.Publish(ctx, one[:]...)
		one[0] = tracking.Message{}
		oneMessage.Put(one)
	}
	if err != nil {
		in.reject(err)
		return p.ID, err
	}
	in.accepted.Inc()
	in.presence.Seen(p.Team, p.WorkerID, now)
	in.mail.seen(p.Team, p.WorkerID)
	if in.fences != nil {
		// Alerts follow the position they come from on the team's stream.
		in.fences.Seen(&p, now)
	}
	if h := in.a.cfg.History; h != nil {
		// Never blocks. The ingesting replica writes what it ingested: each
		// record reaches exactly one replica, so with several replicas each
		// is written once, and a retried write is idempotent.
		h.Add(history.Record{Position: p, Received: now})
	}
	return p.ID, nil
}

// oneMessage holds the argument of a Publish of one message: through the
// interface, Publish's variadic slice would otherwise be allocated for
// every record (Publish does not keep it; Broadcaster says so).
var oneMessage = sync.Pool{New: func() any { return new([1]tracking.Message) }}

// adviceWait is how long a POST's summary waits for its advice: not at all
// for a flood, which is answered at once.
func adviceWait(flood bool) time.Duration {
	if flood {
		return 0
	}
	return time.Second
}

func (in *ingestor) reject(err error) {
	in.rejected.WithLabelValues(in.label, string(tracking.ErrorCode(err))).Inc()
}

// handleIngest reads a streaming body of NDJSON or concatenated records and
// publishes each valid record as it arrives.
func (a *API) handleIngest(w http.ResponseWriter, r *http.Request, claims *auth.Claims) {
	// On drain, token expiry (a POST lives as long as its body otherwise) or a
	// newer connection of the worker, unblock the body read so that the
	// summary goes out.
	rc := http.NewResponseController(w)
	var endedBy atomic.Value
	defer a.worker("worker_post", claims, true, func(_ context.Context, why string) {
		endedBy.Store(why)
		_ = rc.SetReadDeadline(time.Now())
	})()

	in := a.ingestor("post", claims)
	in.mail = a.newWorkerMail(nil) // a POST cannot receive; its summary says the advice
	defer in.end()
	sum := wire.IngestAnswer{Errors: []wire.ErrorBody{}}
	sc := wire.NewRecordScanner(r.Body, a.cfg.MaxRecordSize)
	for !in.over {
		rec, err := sc.Next()
		var id string
		if err == nil {
			id, err = in.accept(r.Context(), rec)
			if err == nil {
				sum.Accepted++
				continue
			}
		} else if te := (*tracking.Error)(nil); errors.As(err, &te) {
			in.reject(err)
		} else {
			if !errors.Is(err, io.EOF) {
				if why, ok := endedBy.Load().(string); ok {
					sum.Reconnect, sum.Reason = true, why
				} else {
					a.log.Debug("ingest body ended", "err", err)
				}
			}
			break
		}
		sum.Rejected++
		if len(sum.Errors) < a.cfg.MaxErrorsReported {
			e := wire.NewErrorBody(err)
			e.ID, e.Record = id, sc.Record()
			sum.Errors = append(sum.Errors, e)
		}
	}
	if d := in.mail.Advice(adviceWait(in.over)); d > 0 {
		sum.Config = &wire.Advice{Interval: wire.FormatInterval(d)}
	}
	if in.over {
		// A flood: answer now, without reading the rest of the body.
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusTooManyRequests, sum)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}
