package view_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamtrack/team-tracking-view/browsertest"
)

// TestClientExamples runs the TypeScript client's examples (client/examples,
// type-checked and compiled with the view's TypeScript) with node against a
// real tracking replica in process, through the same proxy as the browser
// tests: two managers (Server-Sent Events and WebSocket) watch team_one, the
// worker example sends 20 positions over its WebSocket and acknowledges the
// message a manager sends it; both managers print the 20 positions, in
// order, each with a stream id, and the message's delivery reaching acked.
// A third manager resumes after the 10th position's id: it prints positions
// 11 to 20 and no snapshot.
func TestClientExamples(t *testing.T) {
	example := compileClient(t).example
	p := startPlatform(t, platformOptions{messages: true})
	base := p.URL + "/tracking/redis"
	const worker, count = "w-ts", 20

	sse := example("manager", "TRACKING_URL="+base)
	ws := example("manager", "TRACKING_URL="+base, "TRANSPORT=websocket")
	for _, m := range []*nodeProcess{sse, ws} {
		m.waitFor("state open", 20*time.Second)
	}

	w := example("worker", "TRACKING_URL="+base, "WORKER="+worker, fmt.Sprintf("COUNT=%d", count), "INTERVAL_MS=50", "WAIT_MESSAGES=1")
	w.waitFor("open", 20*time.Second)
	// A manager sends the worker a message: the worker prints it and acks it.
	resp, err := http.Post(base+"/team_one/messages", "application/json",
		strings.NewReader(`{"to":["`+worker+`"],"body":{"job":"collect parcel 17"},"ttl":"1m"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sent struct{ ID string }
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &sent) != nil || sent.ID == "" {
		t.Fatalf("POST messages: %d %s", resp.StatusCode, body)
	}
	w.waitFor(fmt.Sprintf(`message %s {"job":"collect parcel 17"}`, sent.ID), 20*time.Second)
	w.waitFor(fmt.Sprintf("done sent=%d messages=1", count), 30*time.Second)
	w.wait(t)

	var tenth string
	for _, m := range []*nodeProcess{sse, ws} {
		m.waitFor(fmt.Sprintf("delivery %s %s acked", sent.ID, worker), 20*time.Second)
		m.waitFor(fmt.Sprintf("position %s %s 13.405 ", worker, lat(count)), 20*time.Second)
		ids := m.positions(worker)
		if len(ids) != count {
			t.Errorf("%s: %d positions of %s, want %d: %q", m.name, len(ids), worker, count, ids)
			continue
		}
		for n, id := range ids {
			// Over WebSocket a batch's id is its last position's: the
			// others have none.
			if id.lat != lat(n+1) || (m == sse && id.streamID == "-") {
				t.Errorf("%s: position %d of %s is at %s with stream id %q: want in order at %s, with a stream id", m.name, n+1, worker, id.lat, id.streamID, lat(n+1))
			}
		}
		if last := ids[len(ids)-1]; last.streamID == "-" {
			t.Errorf("%s: the last position has no stream id", m.name)
		}
		if m == sse {
			tenth = ids[9].streamID
		}
	}

	// Resume after the 10th position: positions 11-20 and no snapshot.
	resumed := example("manager", "TRACKING_URL="+base, "AFTER="+tenth, "STOP_AFTER=10")
	resumed.waitFor("after ", 20*time.Second)
	resumed.wait(t)
	ids := resumed.positions(worker)
	if len(ids) != 10 || ids[0].lat != lat(11) || ids[9].lat != lat(20) {
		t.Errorf("resumed after the 10th position: %v, want positions 11 to 20", ids)
	}
	for _, l := range resumed.all() {
		if strings.HasPrefix(l, "mark ") || strings.HasPrefix(l, "reset ") {
			t.Errorf("resumed stream printed %q: want no snapshot", l)
		}
	}
}

// lat is the latitude of the worker example's nth position, as JavaScript prints it.
func lat(n int) string {
	return strconv.FormatFloat(math.Round((52.52+float64(n)*0.0001)*1e6)/1e6, 'f', -1, 64)
}

// TestClientStreamFraming runs the manager example against a hand-written
// stream: a byte order mark, CRLF and LF line ends, a CRLF and a record
// split across network reads, a comment, the mark after the snapshot (an id
// and no data), a status, then a reconnect hint. The example prints the
// snapshot's position (no id), the mark, the live position with its id and
// the status, reconnects at once with since= the last id and the token as
// Authorization: Bearer (not in the URL), and resumes. A refused token
// (401) stops it with the server's message.
func TestClientStreamFraming(t *testing.T) {
	example := compileClient(t).example
	rec := func(worker string, lat float64) string {
		return fmt.Sprintf(`{"id":"%s-%g","workerId":"%s","team":"team_x","location":{"latitude":%g,"longitude":13.4},"timeStamp":"2026-12-03T10:00:00Z"}`, worker, lat, worker, lat)
	}
	var mu sync.Mutex
	var requests []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r)
		n := len(requests)
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer good" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":"unauthorized","message":"unknown token"}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		write := func(parts ...string) {
			for _, p := range parts {
				_, _ = io.WriteString(w, p)
				_ = rc.Flush()
				time.Sleep(30 * time.Millisecond) // separate network reads
			}
		}
		if n == 1 {
			write("\ufeffretry: 2000\r\n\r\ndata: "+rec("w-a", 52.1)+"\r\n\r\nid: m-0\r\n\r\n: hb\r\n",
				"id: e-1\r\ndata: "+rec("w-a", 52.2)[:40], rec("w-a", 52.2)[40:]+"\r", "\n\r\n",
				`event: status`+"\n"+`data: {"workerId":"w-a","team":"team_x","status":"online","since":"2026-12-03T10:00:00Z"}`+"\nid: e-2\n\n",
				`event: reconnect`+"\n"+`data: {"reason":"lifetime"}`+"\n\n")
			return
		}
		write("id: e-3\ndata: " + rec("w-a", 52.3) + "\n\n")
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)

	m := example("manager", "TRACKING_URL="+srv.URL+"/tracking", "TEAM=team_x", "TOKEN=good", "STOP_AFTER=2")
	m.waitFor("after e-3", 20*time.Second)
	m.wait(t)
	var got []string
	for _, l := range m.all() {
		if !strings.HasPrefix(l, "state ") || strings.HasPrefix(l, "state waiting") {
			got = append(got, l)
		}
	}
	want := []string{"position w-a 52.1 13.4 -", "mark m-0", "position w-a 52.2 13.4 e-1", "status w-a online",
		"state waiting lifetime", "position w-a 52.3 13.4 e-3", "after e-3"}
	if !slices.Equal(got, want) {
		t.Errorf("the manager printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	mu.Lock()
	if len(requests) != 2 || requests[0].URL.RawQuery != "" || requests[1].URL.Query().Get("since") != "e-2" || requests[1].URL.Query().Has("access_token") {
		t.Errorf("requests %v: want the stream, then since=e-2 (and no token in the URL)", requests)
	}
	mu.Unlock()

	refused := example("manager", "TRACKING_URL="+srv.URL+"/tracking", "TEAM=team_x", "TOKEN=bad")
	refused.waitFor("state unauthorized auth: Not authorised (401): unknown token", 20*time.Second)
	refused.wait(t) // nothing left to do: node ends
}

// TestClientUnit runs the client's unit tests (client/test: the event
// stream parser on every line ending and split, the records' checks,
// conflation, backoff, durations) with node's test runner.
func TestClientUnit(t *testing.T) {
	c := compileClient(t)
	out, err := exec.Command(c.node, "--test", filepath.Join(c.pkg, "dist", "test", "unit.test.js")).CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out[max(0, bytes.Index(out, []byte("# tests"))):])
}

// clientBuild is the client compiled by compileClient.
type clientBuild struct {
	t         *testing.T
	node, pkg string // node, and the compiled package's directory
}

// compileClient type-checks and compiles client/ (src, examples, test) with
// the view's TypeScript into a copy of the package, so that the examples'
// import of @teamtrack/client resolves to it.
func compileClient(t *testing.T) *clientBuild {
	t.Helper()
	node, err := exec.LookPath("node")
	browsertest.Require(t, err == nil, "node not found (the client's examples need Node.js 20+)")
	tsc, err := filepath.Abs("web/node_modules/.bin/tsc")
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(tsc)
	browsertest.Require(t, err == nil, "web/node_modules is not installed: run team-tracking-view/build.sh before go test")

	// Compile the client and its examples into a copy of the package, so
	// that the examples' import of @teamtrack/client resolves to it.
	pkg := t.TempDir()
	manifest, err := os.ReadFile("client/package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "package.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tsc, "-p", "client/tsconfig.json", "--outDir", filepath.Join(pkg, "dist")).CombinedOutput(); err != nil {
		t.Fatalf("tsc -p client/tsconfig.json: %v\n%s", err, out)
	}
	return &clientBuild{t: t, node: node, pkg: pkg}
}

// example starts examples/NAME.ts with node and more environment; the
// returned process collects what it prints.
func (c *clientBuild) example(name string, env ...string) *nodeProcess {
	t, node, pkg := c.t, c.node, c.pkg
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	cmd := exec.CommandContext(ctx, node, "--experimental-websocket", "--no-warnings", filepath.Join(pkg, "dist", "examples", name+".js"))
	cmd.Env = append(os.Environ(), append([]string{"TEAM=team_one"}, env...)...)
	np := &nodeProcess{t: t, name: name, cmd: cmd, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &np.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(np.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			np.add(sc.Text())
		}
		np.err = cmd.Wait()
		cancel()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-np.done
		if t.Failed() {
			t.Logf("%s printed:\n%s\nstderr:\n%s", name, strings.Join(np.all(), "\n"), np.stderr.String())
		}
	})
	return np
}

// nodeProcess is a running example and the lines it printed.
type nodeProcess struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
	err    error

	mu   sync.Mutex
	seen []string
}

func (np *nodeProcess) add(line string) {
	np.mu.Lock()
	np.seen = append(np.seen, line)
	np.mu.Unlock()
}

func (np *nodeProcess) all() []string {
	np.mu.Lock()
	defer np.mu.Unlock()
	return slices.Clone(np.seen)
}

// waitFor waits until the process printed a line starting with prefix.
func (np *nodeProcess) waitFor(prefix string, d time.Duration) {
	np.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if slices.ContainsFunc(np.all(), func(l string) bool { return strings.HasPrefix(l, prefix) }) {
			return
		}
		select {
		case <-np.done:
			if slices.ContainsFunc(np.all(), func(l string) bool { return strings.HasPrefix(l, prefix) }) {
				return
			}
			np.t.Fatalf("%s ended (%v) without printing %q", np.name, np.err, prefix)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			np.t.Fatalf("%s did not print %q within %v", np.name, prefix, d)
		}
	}
}

// wait waits for the process to end and fails the test if it failed.
func (np *nodeProcess) wait(t *testing.T) {
	t.Helper()
	<-np.done
	if np.err != nil {
		t.Errorf("%s: %v", np.name, np.err)
	}
}

type examplePosition struct{ lat, streamID string }

// positions are the positions of worker the process printed, in order.
func (np *nodeProcess) positions(worker string) []examplePosition {
	var out []examplePosition
	for _, l := range np.all() {
		f := strings.Fields(l)
		if len(f) == 5 && f[0] == "position" && f[1] == worker {
			out = append(out, examplePosition{lat: f[2], streamID: f[4]})
		}
	}
	return out
}
