package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/discovery"
)

// benchRecord is about the size of one position record.
var benchRecord = []byte(`data: {"id":"9b2f1c4e-8f0a-4a51-9d1e-0c6c2b7e5d11","workerId":"w-17","team":"team_one","location":{"latitude":-23.55052,"longitude":-46.633308},"timeStamp":"2026-11-22T13:21:04.123Z"}` + "\n\n")

// benchTargets starts an upstream and gateways in front of it (discarding
// logs) and returns the base URL of each, to compare direct and proxied:
// "gateway" in mode none, "gateway_jwt" checking HS256 tokens.
func benchTargets(b *testing.B, h http.HandlerFunc) map[string]string {
	b.Helper()
	up := httptest.NewServer(h)
	b.Cleanup(up.Close)
	res, _ := discovery.NewStatic(map[string][]string{redisSvc: {up.Listener.Addr().String()}})
	v, err := auth.NewHS256(testSecret, auth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	targets := map[string]string{"direct": up.URL + "/tracking"}
	for name, cfg := range map[string]Config{
		"gateway":     {Resolver: res, AuthMode: auth.ModeNone},
		"gateway_jwt": {Resolver: res, AuthMode: auth.ModeJWT, Verifier: v},
	} {
		g, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		gs := httptest.NewServer(g)
		b.Cleanup(func() { gs.Close(); g.Close() })
		targets[name] = gs.URL + "/tracking/redis"
	}
	return targets
}

// BenchmarkRequest measures a small GET, direct and through the gateway: the
// difference is what the proxy adds per request (and gateway_jwt's over
// gateway's, what checking the token adds).
func BenchmarkRequest(b *testing.B) {
	targets := benchTargets(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[]`))
	})
	tok := managerToken(b, "team_one")
	for _, name := range []string{"direct", "gateway", "gateway_jwt"} {
		b.Run(name, func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			req, err := http.NewRequest("GET", targets[name]+"/team_one/positions", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			b.ReportAllocs()
			for b.Loop() {
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
}

// BenchmarkSSEMessage measures one streamed event, direct and through the
// gateway (each event written and flushed on its own, as the services do).
func BenchmarkSSEMessage(b *testing.B) {
	targets := benchTargets(b, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for range n {
			if _, err := w.Write(benchRecord); err != nil {
				return
			}
			f.Flush()
		}
	})
	for _, name := range []string{"direct", "gateway"} {
		b.Run(name, func(b *testing.B) {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			res, err := (&http.Client{Transport: tr}).Get(fmt.Sprintf("%s/team_one?n=%d", targets[name], b.N))
			if err != nil {
				b.Fatal(err)
			}
			defer res.Body.Close()
			br := bufio.NewReader(res.Body)
			b.SetBytes(int64(len(benchRecord)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := br.ReadSlice('\n'); err != nil {
					b.Fatal(err)
				}
				if _, err := br.ReadSlice('\n'); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
