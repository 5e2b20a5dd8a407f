package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// BadInput is a hostile or broken record with what its error must say.
type BadInput struct {
	Name     string
	Record   []byte
	Code     string // expected error code
	Mentions string // a word the error message must contain
}

// BadInputs is the table every strategy runs (and the gateway tests reuse).
func BadInputs(team, worker string) []BadInput {
	valid := func(mut func(m map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(Rec(team, worker, 99), &m)
		delete(m, "id")
		mut(m)
		b, _ := json.Marshal(m)
		return b
	}
	return []BadInput{
		{"malformed JSON", []byte(`{"workerId":"` + worker + `","team":`), "invalid_json", ""},
		{"not an object", []byte(`"hello"`), "invalid_json", "object"},
		{"workerId of the wrong type", valid(func(m map[string]any) { m["workerId"] = 12 }), "invalid_field", "workerId"},
		{"location of the wrong type", valid(func(m map[string]any) { m["location"] = "here" }), "invalid_field", "location"},
		{"latitude 91", valid(func(m map[string]any) { m["location"] = map[string]any{"latitude": 91, "longitude": 0} }), "invalid_field", "location.latitude"},
		{"latitude NaN", valid(func(m map[string]any) { m["location"] = map[string]any{"latitude": "NaN", "longitude": "1"} }), "invalid_field", "location.latitude"},
		{"65-char workerId", valid(func(m map[string]any) { m["workerId"] = strings.Repeat("a", 65) }), "invalid_field", "workerId"},
		{"team with forbidden characters", valid(func(m map[string]any) { m["team"] = "team one!" }), "invalid_field", "team"},
		{"legacy date that does not exist", valid(func(m map[string]any) { m["timeStamp"] = "31/02/2026 10:00:00" }), "invalid_field", "timeStamp"},
		{"timestamp two days ahead", valid(func(m map[string]any) { m["timeStamp"] = "2099-01-01T00:00:00Z" }), "invalid_field", "future"},
		{"record over 64 KiB", valid(func(m map[string]any) { m["note"] = strings.Repeat("x", 70<<10) }), "too_large", "larger"},
	}
}

func (s *scenarios) badInputs(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{})
	team := "team_bad"
	ts := time.Now()
	if _, err := Post(a.URL+"/tracking", bytes.NewReader(RecAt(team, "probe", 1, ts))); err != nil {
		t.Fatal(err)
	}
	mgr := MustOpenSSE(t, b.URL+"/tracking/"+team)
	if !mgr.WaitFor(s.f.Timeout, HasAll(map[string]int{"probe": 1})) {
		t.Fatal("manager did not get the snapshot")
	}
	cases := BadInputs(team, "wbad")

	t.Run("WebSocket", func(t *testing.T) {
		w := MustDialWorker(t, a.WS+"/tracking/ws")
		worker := "wws"
		seq := 0
		for i, c := range cases {
			seq++
			must(t, w.Send(RecAt(team, worker, seq, ts)))
			must(t, w.Send(c.Record))
			answers := w.WaitAnswers(s.f.Timeout, i+1)
			if len(answers) != i+1 {
				t.Fatalf("%s: %d answers, want %d", c.Name, len(answers), i+1)
			}
			checkAnswer(t, c, answers[i]["code"], answers[i]["message"])
		}
		seq++
		must(t, w.Send(RecAt(team, worker, seq, ts)))
		s.checkAround(t, mgr, team, worker, seq, ts)
	})

	t.Run("NDJSON", func(t *testing.T) {
		worker := "wpost"
		var body bytes.Buffer
		seq := 0
		for _, c := range cases {
			seq++
			body.Write(RecAt(team, worker, seq, ts))
			body.WriteByte('\n')
			body.Write(c.Record)
			body.WriteByte('\n')
		}
		seq++
		body.Write(RecAt(team, worker, seq, ts))
		sum, err := Post(a.URL+"/tracking", &body)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Accepted != seq || sum.Rejected != len(cases) {
			t.Fatalf("summary accepted %d rejected %d, want %d and %d", sum.Accepted, sum.Rejected, seq, len(cases))
		}
		for i, e := range sum.Errors {
			checkAnswer(t, cases[i], e.Code, e.Message)
			if e.Record != 2*(i+1) {
				t.Errorf("%s: error names record %d, want %d", cases[i].Name, e.Record, 2*(i+1))
			}
		}
		s.checkAround(t, mgr, team, worker, seq, ts)
	})
}

// checkAround fails unless mgr gets the valid records 1..seq of worker, sent
// around the bad ones, in order and as sent.
func (s *scenarios) checkAround(t *testing.T, mgr *Stream, team, worker string, seq int, ts time.Time) {
	t.Helper()
	if !mgr.WaitFor(s.f.Timeout, HasAll(map[string]int{worker: seq})) {
		t.Fatalf("valid records around the bad ones: got up to %d, want %d", Latest(mgr.Records())[worker], seq)
	}
	CheckOrdered(t, "manager", team, mgr.Records(), 1, map[string]int{worker: seq})
	CheckContent(t, "manager", mgr.Records(), ts)
}

func checkAnswer(t *testing.T, c BadInput, code, message any) {
	t.Helper()
	if code != c.Code {
		t.Errorf("%s: code %v, want %s (message %v)", c.Name, code, c.Code, message)
	}
	msg, _ := message.(string)
	if msg == "" || !strings.Contains(msg, c.Mentions) {
		t.Errorf("%s: message %q should mention %q", c.Name, msg, c.Mentions)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// LastPositions reads team's last known positions from the API at base
// (…/tracking).
func LastPositions(base, team string) ([]Record, error) {
	raw, err := apiclient.MustNew(base, apiclient.Config{}).LastPositions(context.Background(), team)
	if err != nil {
		return nil, err
	}
	recs := make([]Record, len(raw))
	for i, r := range raw {
		if recs[i], err = decodeRecord(r); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// Reached reports whether got holds at least want's sequence for each worker.
func Reached(got, want map[string]int) bool {
	for w, n := range want {
		if got[w] < n {
			return false
		}
	}
	return true
}
