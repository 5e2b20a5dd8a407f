package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSSEIsStreamedUnbuffered checks that an event reaches the client while
// the upstream still holds the response open.
func TestSSEIsStreamedUnbuffered(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "retry: 2000\n\ndata: {\"n\":1}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "data: {\"n\":2}\n\n")
	})
	g := newTestGateway(t, map[string][]string{redisSvc: {up.addr()}})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.url("/tracking/redis/team_one"), nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(res.Body)
	if got := readEvent(t, br); got != "retry: 2000" {
		t.Fatalf("first block %q", got)
	}
	// The upstream has not finished: this event can only come unbuffered.
	if got := readEvent(t, br); got != `data: {"n":1}` {
		t.Fatalf("first event %q", got)
	}
	if n := g.counter(t, "gateway_active_connections", nil); n != 1 {
		t.Errorf("active connections during the stream: %v, want 1", n)
	}
	close(release)
	if got := readEvent(t, br); got != `data: {"n":2}` {
		t.Fatalf("second event %q", got)
	}
}

// readEvent reads one SSE block (up to a blank line), without its newlines.
func readEvent(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read event: %v (so far %q)", err, lines)
		}
		line = strings.TrimRight(line, "\n")
		if line == "" {
			return strings.Join(lines, "\n")
		}
		lines = append(lines, line)
	}
}

// TestNDJSONUploadIsStreamed checks that the upstream reads the first record
// of a POST body while the client is still sending it.
func TestNDJSONUploadIsStreamed(t *testing.T) {
	firstLine := make(chan string, 1)
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		br := bufio.NewReader(r.Body)
		n := 0
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				if n == 0 {
					firstLine <- line
				}
				n++
			}
			if err != nil {
				break
			}
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"accepted":%d,"rejected":0}`, n)
	})
	g := newTestGateway(t, map[string][]string{kafkaSvc: {up.addr()}})
	pw, done := g.postPipe("/tracking/kafka/")
	if _, err := io.WriteString(pw, testRecord("w1")); err != nil {
		t.Fatal(err)
	}
	select {
	case line := <-firstLine:
		if !strings.Contains(line, `"w1"`) {
			t.Fatalf("upstream read %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream did not get the first record while the body was still open")
	}
	for _, w := range []string{"w2", "w3"} {
		_, _ = io.WriteString(pw, testRecord(w))
	}
	pw.Close()
	r := <-done
	if r.err != nil || r.status != 200 || r.body != `{"accepted":3,"rejected":0}` {
		t.Fatalf("POST: %d %q %v", r.status, r.body, r.err)
	}
}

// TestBrokenStreamIsNotEndedCleanly checks that when the upstream dies in
// the middle of a stream, the client sees an error, not a clean end.
func TestBrokenStreamIsNotEndedCleanly(t *testing.T) {
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	g := newTestGateway(t, map[string][]string{redisSvc: {up.addr()}})
	res, err := g.client.Get(g.url("/tracking/redis/team_one"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, err = io.ReadAll(res.Body)
	if err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("reading a broken stream: err %v, want an unexpected EOF", err)
	}
}

// TestUploadToDeadUpstreamEnds: when the upstream dies in the middle of a
// streaming POST, the client, still sending its body, gets the end (a JSON
// 502, or a broken connection) instead of a body that goes nowhere.
func TestUploadToDeadUpstreamEnds(t *testing.T) {
	gotFirst := make(chan struct{})
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		br := bufio.NewReader(r.Body)
		if _, err := br.ReadString('\n'); err != nil {
			return
		}
		close(gotFirst)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // dies without an answer
		}
	})
	g := newTestGateway(t, map[string][]string{redisSvc: {up.addr()}})
	pw, done := g.postPipe("/tracking/redis/")
	defer pw.Close()
	if _, err := io.WriteString(pw, testRecord("w1")); err != nil {
		t.Fatal(err)
	}
	<-gotFirst
	select {
	case r := <-done:
		if r.err == nil && (r.status != http.StatusBadGateway || !strings.Contains(r.body, `"code":"unavailable"`)) {
			t.Fatalf("POST to a dead upstream: %d %q, want a JSON 502 or an error", r.status, r.body)
		}
		t.Logf("the client got: %d %q %v", r.status, strings.TrimSpace(r.body), r.err)
	case <-time.After(5 * time.Second):
		t.Fatal("the client, still sending, got no end 5s after the upstream died")
	}
}

// TestEarlyRefusalOfAnUploadReachesTheClient: an upstream that answers a
// POST before its body ends and closes the connection (as the tracking
// services do for a flood) is the end of its answer, not a dead upstream:
// the client gets that answer whole.
func TestEarlyRefusalOfAnUploadReachesTheClient(t *testing.T) {
	const answer = `{"accepted":1,"rejected":0,"errors":[]}`
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if _, err := bufio.NewReader(r.Body).ReadString('\n'); err != nil {
			return
		}
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, answer)
	})
	g := newTestGateway(t, map[string][]string{redisSvc: {up.addr()}})
	for range 20 { // the race between the answer and the close, more than once
		pw, done := g.postPipe("/tracking/redis/")
		go func() { _, _ = io.WriteString(pw, testRecord("w1")) }()
		r := <-done
		pw.Close()
		if r.err != nil || r.status != http.StatusTooManyRequests || r.body != answer {
			t.Fatalf("early refusal: %d %q %v, want 429 %s", r.status, r.body, r.err, answer)
		}
	}
}

// testRecord is one NDJSON line of worker's position.
func testRecord(worker string) string {
	return `{"workerId":"` + worker + `","team":"t","location":{"latitude":1,"longitude":2}}` + "\n"
}

type postResult struct {
	status int
	body   string
	err    error
}

// postPipe POSTs to path, as an NDJSON body, what is written to the pipe it
// returns; the answer comes on the channel.
func (g *testGateway) postPipe(path string) (*io.PipeWriter, <-chan postResult) {
	pr, pw := io.Pipe()
	done := make(chan postResult, 1)
	go func() {
		req, _ := http.NewRequest("POST", g.url(path), pr)
		req.Header.Set("Content-Type", "application/x-ndjson")
		res, err := g.client.Do(req)
		if err != nil {
			done <- postResult{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		done <- postResult{res.StatusCode, string(b), err}
	}()
	return pw, done
}
