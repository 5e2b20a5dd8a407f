package simulator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const sampleMetrics = `# HELP tracking_records_total Records received from workers, by transport and result.
# TYPE tracking_records_total counter
tracking_records_total{result="accepted",transport="ws"} 1200
tracking_records_total{result="rate_limited",transport="ws"} 3
tracking_records_total{result="invalid",transport="post"} 2
tracking_stream_conflated_total 17
tracking_stream_dropped_total 5
tracking_reconnect_hints_total{reason="slow"} 1
tracking_reconnect_hints_total{reason="shutdown"} 4
tracking_reconnect_hints_total{reason="lifetime"} 6
tracking_hub_resumes_total{outcome="reset"} 2
tracking_hub_resumes_total{outcome="resumed"} 7
tracking_redis_published_total 1.2e+03
tracking_redis_publish_errors_total 0
tracking_redis_received_total 1199
tracking_hub_deliveries_total 2400
tracking_stream_positions_total 2383
tracking_stream_writes_total 800
tracking_delivery_latency_seconds_bucket{le="0.001"} 3
go_goroutines 12
build_info{version="a \"quoted\" one, with \\ and \n",commit="x"} 1
`

func TestParseMetricsCounters(t *testing.T) {
	var c ServerCounters
	found := false
	if err := parseMetrics(strings.NewReader(sampleMetrics), func(s counterSample) { found = c.take(s) || found }); err != nil {
		t.Fatal(err)
	}
	want := ServerCounters{Accepted: 1200, Rejected: 5, Published: 1200, BrokerReceived: 1199, Queued: 2400, Written: 2383, Writes: 800,
		Conflated: 17, Dropped: 5, SlowHints: 1, ShutdownHints: 4, LifetimeHints: 6, ResumesReset: 2, Resumed: 7}
	if c != want || !found {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	d := want.minus(ServerCounters{Accepted: 200, Conflated: 7})
	if d.Accepted != 1000 || d.Conflated != 10 || d.Dropped != 5 {
		t.Fatalf("minus: %+v", d)
	}
}

func TestParseSampleLabels(t *testing.T) {
	s, err := parseSample(`build_info{version="a \"q\", \\ b",commit="x"} 1 1700000000`)
	if err != nil || s.name != "build_info" || s.labels["version"] != `a "q", \ b` || s.labels["commit"] != "x" || s.value != 1 {
		t.Fatalf("%+v %v", s, err)
	}
	for _, bad := range []string{"x", `x{a="b"`, `x{a=b} 1`, `x{a="b"} nope`, `x{a="b} 1`} {
		if _, err := parseSample(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestScrapeCounters(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics":
			fmt.Fprint(w, sampleMetrics)
		case "/other":
			fmt.Fprint(w, "go_goroutines 3\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := scrapeCounters(context.Background(), srv.Client(), srv.URL+"/metrics")
	if err != nil || c.Conflated != 17 {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := scrapeCounters(context.Background(), srv.Client(), srv.URL+"/other"); err == nil || !strings.Contains(err.Error(), "no tracking_ metric") {
		t.Fatalf("a page without tracking metrics: %v", err)
	}
	if _, err := scrapeCounters(context.Background(), srv.Client(), srv.URL+"/absent"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v", err)
	}
}

// A histogram scraped twice: the window's difference, its quantiles
// interpolated within buckets as histogram_quantile does, summed over
// replicas; the +Inf bucket answers the highest finite bound.
func TestServerLatency(t *testing.T) {
	scrape := func(counts ...float64) ReplicaScrape {
		les := []string{"0.01", "0.05", "0.1", "0.5", "+Inf"}
		var b strings.Builder
		for i, le := range les {
			fmt.Fprintf(&b, "tracking_delivery_latency_seconds_bucket{le=%q} %g\n", le, counts[i])
		}
		lat := latencyBuckets{}
		if err := parseMetrics(strings.NewReader(b.String()), lat.take); err != nil {
			t.Fatal(err)
		}
		return ReplicaScrape{latency: lat}
	}
	// Before: 100 observations, all under 10 ms. In the window: 1,000 more,
	// 500 under 10 ms, 400 more under 50 ms, 90 under 100 ms, 10 under 500 ms.
	start := []ReplicaScrape{scrape(100, 100, 100, 100, 100)}
	end := []ReplicaScrape{scrape(600, 1000, 1090, 1100, 1100)}
	l := serverLatency(start, end)
	if l == nil || l.Count != 1000 {
		t.Fatalf("%+v", l)
	}
	// p50: rank 500, the 10 ms bucket's last: 10 ms. p95: rank 950, 50 of
	// the 90 between 50 and 100 ms: 77.8 ms. p99: rank 990, the 100 ms
	// bucket's last: 100 ms.
	if l.P50Ms != 10 || l.P95Ms != 77.8 || l.P99Ms != 100 {
		t.Fatalf("%+v", l)
	}
	// Two replicas add up; one that failed to scrape is left out.
	two := serverLatency(append(start, start[0], ReplicaScrape{Error: "down"}), append(end, end[0], end[0]))
	if two.Count != 2000 || two.P95Ms != 77.8 {
		t.Fatalf("two replicas: %+v", two)
	}
	// Beyond the last finite bound.
	slow := serverLatency([]ReplicaScrape{scrape(0, 0, 0, 0, 0)}, []ReplicaScrape{scrape(0, 0, 0, 10, 20)})
	if slow.P50Ms != 500 || slow.P99Ms != 500 {
		t.Fatalf("over the last bound: %+v", slow)
	}
	if serverLatency(start, start) != nil {
		t.Fatal("no observations in the window: want nil")
	}
}
