package simulator

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// IdleKind is the kind of connection team-simulator idle holds open.
type IdleKind string

const (
	IdleWorkerWS   IdleKind = "worker-ws"   // GET /tracking/ws, sends nothing
	IdleManagerSSE IdleKind = "manager-sse" // GET /tracking/{team}, a quiet team
	IdleManagerWS  IdleKind = "manager-ws"  // GET /tracking/{team}/ws, a quiet team
)

// IdleConfig: how many connections of which kind to hold open, from which
// source addresses. Idle connections are what a replica holds most of
// (large, mostly quiet teams): the server's memory per connection is
// measured with them (scripts/bench-idle.sh).
type IdleConfig struct {
	Kind IdleKind
	// URL is the service's tracking base URL, e.g. http://127.0.0.1:18081/tracking/.
	URL string
	// Conns to open. Required.
	Conns int
	// Sources are the local addresses the connections are spread over, so
	// that more than one address's ephemeral ports can be used (loopback
	// has all of 127.0.0.0/8). Default: the system's choice.
	Sources []netip.Addr
	// Teams the managers watch (round robin) and the workers belong to.
	// Default 100. Nobody sends positions on them.
	Teams int
	// IDPrefix names the workers and teams (several processes must not
	// share worker ids: the newest connection of a worker wins). Default "idle".
	IDPrefix string
	// FirstPosition: each worker sends one position once connected, then
	// nothing (a worker between two positions, rather than one that never
	// sent). Workers only.
	FirstPosition bool
	// Rate of new connections per second. Default 2,000.
	Rate float64
	// Hold is how long the connections stay open once all are; 0: until ctx ends.
	Hold time.Duration
	Auth Auth
	// Ready, when set, is called once every connection is open (or failed).
	Ready  func(IdleReport)
	Logger *slog.Logger
}

// IdleReport counts the connections of an idle run.
type IdleReport struct {
	Kind     IdleKind `json:"kind"`
	Wanted   int      `json:"wanted"`
	Open     int64    `json:"open"`   // open now
	Failed   int64    `json:"failed"` // could not be opened
	Closed   int64    `json:"closed"` // opened, then closed by the server or the network
	Hints    int64    `json:"hints"`  // reconnect hints received (lifetime, drain)
	Pings    int64    `json:"pings"`  // WebSocket pings answered / SSE heartbeats read
	FirstErr string   `json:"firstError,omitempty"`
}

type idleRun struct {
	cfg                                IdleConfig
	open, failed, closed, hints, pings atomic.Int64
	errMu                              sync.Mutex
	firstErr                           string
}

// RunIdle opens cfg.Conns connections, keeps them open (answering pings,
// reading heartbeats) for cfg.Hold or until ctx ends, then closes them.
func RunIdle(ctx context.Context, cfg IdleConfig) (IdleReport, error) {
	switch cfg.Kind {
	case IdleWorkerWS, IdleManagerSSE, IdleManagerWS:
	default:
		return IdleReport{}, fmt.Errorf("idle: kind %q: want worker-ws, manager-sse or manager-ws", cfg.Kind)
	}
	if cfg.Conns <= 0 {
		return IdleReport{}, errors.New("idle: -conns must be > 0")
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.URL, "/") + "/")
	if err != nil || base.Host == "" || base.Scheme != "http" {
		return IdleReport{}, fmt.Errorf("idle: -url %q: want http://host:port/tracking/", cfg.URL)
	}
	cfg.Teams = max(cfg.Teams, 0)
	if cfg.Teams == 0 {
		cfg.Teams = 100
	}
	if cfg.IDPrefix == "" {
		cfg.IDPrefix = "idle"
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 2000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	creds, err := newCredentials(cfg.Auth)
	if err != nil {
		return IdleReport{}, fmt.Errorf("idle: %w", err)
	}
	r := &idleRun{cfg: cfg}
	connCtx, closeAll := context.WithCancel(context.Background())
	defer closeAll()
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
	defer tick.Stop()
	started := time.Now()
	for i := 0; i < cfg.Conns; i++ {
		select {
		case <-ctx.Done():
			closeAll()
			wg.Wait()
			return r.report(), ctx.Err()
		case <-tick.C:
		}
		team := fmt.Sprintf("%s_t%d", cfg.IDPrefix, i%cfg.Teams)
		var cred credential
		worker := ""
		if cfg.Kind == IdleWorkerWS {
			worker = fmt.Sprintf("%s-w%d", cfg.IDPrefix, i)
			cred = workerCredential(worker, team)
		} else {
			cred = managerCredential(i, team)
		}
		h, err := cred.header(creds)
		if err != nil {
			return r.report(), fmt.Errorf("idle: %w", err)
		}
		var src netip.Addr
		if len(cfg.Sources) > 0 {
			src = cfg.Sources[i%len(cfg.Sources)]
		}
		wg.Go(func() { r.hold(connCtx, base, team, worker, src, h) })
		if (i+1)%10000 == 0 {
			cfg.Logger.Info("idle: connecting", "started", i+1, "open", r.open.Load(), "failed", r.failed.Load())
		}
	}
	// Wait until every connection is open or failed.
	for r.open.Load()+r.failed.Load()+r.closed.Load() < int64(cfg.Conns) {
		select {
		case <-ctx.Done():
			closeAll()
			wg.Wait()
			return r.report(), ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	rep := r.report()
	cfg.Logger.Info("idle: all connections made", "open", rep.Open, "failed", rep.Failed,
		"took", time.Since(started).Round(time.Millisecond).String())
	if cfg.Ready != nil {
		cfg.Ready(rep)
	}
	var hold <-chan time.Time
	if cfg.Hold > 0 {
		t := time.NewTimer(cfg.Hold)
		defer t.Stop()
		hold = t.C
	}
	select {
	case <-ctx.Done():
	case <-hold:
	}
	rep = r.report()
	closeAll()
	wg.Wait()
	return rep, nil
}

func (r *idleRun) report() IdleReport {
	return IdleReport{Kind: r.cfg.Kind, Wanted: r.cfg.Conns, Open: r.open.Load(), Failed: r.failed.Load(),
		Closed: r.closed.Load(), Hints: r.hints.Load(), Pings: r.pings.Load(), FirstErr: r.firstError()}
}

func (r *idleRun) firstError() string {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.firstErr
}

func (r *idleRun) fail(err error) {
	r.errMu.Lock()
	if r.firstErr == "" {
		r.firstErr = err.Error()
	}
	r.errMu.Unlock()
	r.failed.Add(1)
}

// hold opens one connection and reads it until ctx ends or the server
// closes it; worker is the worker's id on a worker connection.
func (r *idleRun) hold(ctx context.Context, base *url.URL, team, worker string, src netip.Addr, h http.Header) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	conn, err := d.DialContext(ctx, "tcp", base.Host)
	if err != nil {
		r.fail(err)
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	path := base.Path
	ws := r.cfg.Kind != IdleManagerSSE
	switch r.cfg.Kind {
	case IdleWorkerWS:
		path += "ws"
	case IdleManagerSSE:
		path += team
	case IdleManagerWS:
		path += team + "/ws"
	}
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, base.Host)
	if ws {
		var key [16]byte
		_, _ = rand.Read(key[:])
		fmt.Fprintf(&req, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n",
			base64.StdEncoding.EncodeToString(key[:]))
	} else {
		req.WriteString("Accept: text/event-stream\r\n")
	}
	for k, vs := range h {
		for _, v := range vs {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	req.WriteString("\r\n")
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(conn, req.String()); err != nil {
		r.fail(err)
		return
	}
	br := bufio.NewReaderSize(conn, 512)
	status, err := br.ReadString('\n')
	if err != nil {
		r.fail(fmt.Errorf("%s: reading the response: %w", path, err))
		return
	}
	want := "200"
	if ws {
		want = "101"
	}
	if f := strings.Fields(status); len(f) < 2 || f[1] != want {
		r.fail(fmt.Errorf("%s: %s", path, strings.TrimSpace(status)))
		return
	}
	for { // the headers
		line, err := br.ReadSlice('\n')
		if err != nil {
			r.fail(fmt.Errorf("%s: reading the headers: %w", path, err))
			return
		}
		if len(line) <= 2 {
			break
		}
	}
	if r.cfg.FirstPosition && worker != "" {
		p := tracking.Position{ID: worker + ".1", WorkerID: worker, Team: team,
			Location: tracking.Location{Latitude: 48.85, Longitude: 2.35}, TimeStamp: time.Now().UTC()}
		if err := writeMasked(conn, 0x1, wire.AppendPosition(nil, &p)); err != nil {
			r.fail(fmt.Errorf("%s: the first position: %w", path, err))
			return
		}
	}
	_ = conn.SetDeadline(time.Time{})
	r.open.Add(1)
	defer r.open.Add(-1)
	if ws {
		err = r.readWS(conn, br)
	} else {
		err = r.readSSE(br)
	}
	if ctx.Err() == nil {
		r.closed.Add(1)
		r.cfg.Logger.Debug("idle: connection ended", "path", path, "err", err)
	}
}

// readSSE reads the stream, counting heartbeats and reconnect hints.
func (r *idleRun) readSSE(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
		switch {
		case len(line) > 0 && line[0] == ':':
			r.pings.Add(1)
		case strings.HasPrefix(string(line), "event: reconnect"):
			r.hints.Add(1)
		}
	}
}

// readWS reads frames, answering pings (and a close) as a client must:
// masked. Data frames are read and dropped; a reconnect hint is counted.
func (r *idleRun) readWS(conn net.Conn, br *bufio.Reader) error {
	var hdr [8]byte
	var ctl [125]byte
	for {
		if _, err := io.ReadFull(br, hdr[:2]); err != nil {
			return err
		}
		op := hdr[0] & 0x0f
		n := uint64(hdr[1] & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(br, hdr[:2]); err != nil {
				return err
			}
			n = uint64(binary.BigEndian.Uint16(hdr[:2]))
		case 127:
			if _, err := io.ReadFull(br, hdr[:8]); err != nil {
				return err
			}
			n = binary.BigEndian.Uint64(hdr[:8])
		}
		switch op {
		case 0x8, 0x9: // close, ping: answer with the payload
			if n > uint64(len(ctl)) {
				return fmt.Errorf("control frame of %d bytes", n)
			}
			p := ctl[:n]
			if _, err := io.ReadFull(br, p); err != nil {
				return err
			}
			reply := byte(0x8) // close answers close
			if op == 0x9 {
				reply = 0xa // pong
			}
			if err := writeMasked(conn, reply, p); err != nil {
				return err
			}
			if op == 0x8 {
				if len(p) >= 2 {
					return fmt.Errorf("closed by the server: status %d %q: %w", binary.BigEndian.Uint16(p), p[2:], io.EOF)
				}
				return io.EOF
			}
			r.pings.Add(1)
		default:
			if n < 64 {
				var p [64]byte
				if _, err := io.ReadFull(br, p[:n]); err != nil {
					return err
				}
				if strings.Contains(string(p[:n]), `"reconnect"`) {
					r.hints.Add(1)
				}
				continue
			}
			if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
				return err
			}
		}
	}
}

// writeMasked writes one final frame of opcode op with payload p, masked
// (a client's frames must be).
func writeMasked(conn net.Conn, op byte, p []byte) error {
	var key [4]byte
	_, _ = rand.Read(key[:])
	frame := make([]byte, 0, 8+len(p))
	frame = append(frame, 0x80|op)
	if len(p) < 126 {
		frame = append(frame, 0x80|byte(len(p)))
	} else { // a data frame (control frames are at most 125 bytes)
		frame = append(frame, 0x80|126)
		frame = binary.BigEndian.AppendUint16(frame, uint16(min(len(p), 0xffff)))
		p = p[:min(len(p), 0xffff)]
	}
	frame = append(frame, key[:]...)
	for i, c := range p {
		frame = append(frame, c^key[i%4])
	}
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := conn.Write(frame)
	return err
}
