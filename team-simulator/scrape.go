package simulator

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ServerCounters are the counters of a replica's /metrics that say where
// positions can go missing between a worker and a manager, summed over
// their labels unless said otherwise. In a report they are the difference
// between a scrape before the managers connect and one after they stop.
type ServerCounters struct {
	// Accepted and Rejected are the records the replica took from workers
	// and those it refused (tracking_records_total by result).
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
	// Published and PublishErrors: positions sent to the broker and those
	// that could not be (tracking_{redis,kafka}_published_total,
	// tracking_{redis,kafka}_publish_errors_total).
	Published     int64 `json:"published"`
	PublishErrors int64 `json:"publishErrors"`
	// BrokerReceived: positions the replica read from the broker
	// (tracking_redis_received_total, tracking_kafka_consumed_records_total).
	BrokerReceived int64 `json:"brokerReceived"`
	// Queued: positions the hub put in manager queues
	// (tracking_hub_deliveries_total); Written: positions written to
	// manager streams (tracking_stream_positions_total).
	Queued  int64 `json:"queued"`
	Written int64 `json:"written"`
	// Writes: the batched writes that carried them
	// (tracking_stream_writes_total): Written / Writes positions a write.
	Writes int64 `json:"writes"`
	// Conflated: positions a manager's queue replaced by a newer one of the
	// same worker, newest fix wins (tracking_stream_conflated_total).
	Conflated int64 `json:"conflated"`
	// Dropped: positions pending for a manager dropped as too slow, its
	// stream closed with a slow hint (tracking_stream_dropped_total);
	// SlowHints, ShutdownHints and LifetimeHints are the reconnect hints by
	// reason (tracking_reconnect_hints_total), managers' and workers'.
	Dropped       int64 `json:"dropped"`
	SlowHints     int64 `json:"slowHints"`
	ShutdownHints int64 `json:"shutdownHints"`
	LifetimeHints int64 `json:"lifetimeHints"`
	// ResumesReset: resuming streams reset to a snapshot because their
	// positions were no longer retained (tracking_hub_resumes_total
	// {outcome="reset"}); Resumed: those resumed.
	ResumesReset int64 `json:"resumesReset"`
	Resumed      int64 `json:"resumed"`
}

func (a ServerCounters) minus(b ServerCounters) ServerCounters {
	return ServerCounters{
		Accepted: a.Accepted - b.Accepted, Rejected: a.Rejected - b.Rejected,
		Published: a.Published - b.Published, PublishErrors: a.PublishErrors - b.PublishErrors,
		BrokerReceived: a.BrokerReceived - b.BrokerReceived, Queued: a.Queued - b.Queued, Written: a.Written - b.Written, Writes: a.Writes - b.Writes,
		Conflated: a.Conflated - b.Conflated, Dropped: a.Dropped - b.Dropped,
		SlowHints: a.SlowHints - b.SlowHints, ShutdownHints: a.ShutdownHints - b.ShutdownHints, LifetimeHints: a.LifetimeHints - b.LifetimeHints,
		ResumesReset: a.ResumesReset - b.ResumesReset, Resumed: a.Resumed - b.Resumed,
	}
}

func (a *ServerCounters) add(b ServerCounters) {
	a.Accepted += b.Accepted
	a.Rejected += b.Rejected
	a.Published += b.Published
	a.PublishErrors += b.PublishErrors
	a.BrokerReceived += b.BrokerReceived
	a.Queued += b.Queued
	a.Written += b.Written
	a.Writes += b.Writes
	a.Conflated += b.Conflated
	a.Dropped += b.Dropped
	a.SlowHints += b.SlowHints
	a.ShutdownHints += b.ShutdownHints
	a.LifetimeHints += b.LifetimeHints
	a.ResumesReset += b.ResumesReset
	a.Resumed += b.Resumed
}

// counterSample is one sample line of the Prometheus text format.
type counterSample struct {
	name   string
	labels map[string]string
	value  float64
}

// take adds s to the counters it belongs to; it reports whether it was a
// tracking_ counter at all.
func (c *ServerCounters) take(s counterSample) bool {
	n := int64(s.value)
	switch s.name {
	case "tracking_records_total":
		if s.labels["result"] == "accepted" {
			c.Accepted += n
		} else {
			c.Rejected += n
		}
	case "tracking_redis_published_total", "tracking_kafka_published_total":
		c.Published += n
	case "tracking_redis_publish_errors_total", "tracking_kafka_publish_errors_total":
		c.PublishErrors += n
	case "tracking_redis_received_total", "tracking_kafka_consumed_records_total":
		c.BrokerReceived += n
	case "tracking_hub_deliveries_total":
		c.Queued += n
	case "tracking_stream_positions_total":
		c.Written += n
	case "tracking_stream_writes_total":
		c.Writes += n
	case "tracking_stream_conflated_total":
		c.Conflated += n
	case "tracking_stream_dropped_total":
		c.Dropped += n
	case "tracking_reconnect_hints_total":
		switch s.labels["reason"] {
		case "slow":
			c.SlowHints += n
		case "shutdown":
			c.ShutdownHints += n
		case "lifetime":
			c.LifetimeHints += n
		}
	case "tracking_hub_resumes_total":
		switch s.labels["outcome"] {
		case "reset":
			c.ResumesReset += n
		case "resumed":
			c.Resumed += n
		}
	default:
		return strings.HasPrefix(s.name, "tracking_")
	}
	return true
}

// latencyBuckets is a scrape of a replica's tracking_delivery_latency_seconds
// histogram: the cumulative count at each upper bound (le, seconds; +Inf
// included).
type latencyBuckets map[float64]float64

// take adds s to l when it is one of the histogram's buckets.
func (l latencyBuckets) take(s counterSample) {
	if s.name != "tracking_delivery_latency_seconds_bucket" {
		return
	}
	le, err := strconv.ParseFloat(s.labels["le"], 64) // "+Inf" parses
	if err == nil {
		l[le] += s.value
	}
}

// since is l minus earlier, bucket by bucket (a bucket missing from earlier
// counts from 0).
func (l latencyBuckets) since(earlier latencyBuckets) latencyBuckets {
	d := make(latencyBuckets, len(l))
	for le, n := range l {
		d[le] = n - earlier[le]
	}
	return d
}

// quantile is the q-quantile (0 < q < 1) in seconds, interpolated linearly
// within its bucket as Prometheus's histogram_quantile does; one that falls
// in the +Inf bucket is the highest finite bound. ok is false without
// observations.
func (l latencyBuckets) quantile(q float64) (float64, bool) {
	les := make([]float64, 0, len(l))
	for le := range l {
		les = append(les, le)
	}
	slices.Sort(les)
	if len(les) == 0 || l[les[len(les)-1]] <= 0 {
		return 0, false
	}
	rank := q * l[les[len(les)-1]]
	lower, below := 0.0, 0.0
	for _, le := range les {
		n := l[le]
		if n >= rank && n > below {
			if math.IsInf(le, 1) {
				return lower, true
			}
			return lower + (le-lower)*(rank-below)/(n-below), true
		}
		lower, below = le, n
	}
	return lower, true
}

// scrapeCounters reads url (a replica's /metrics) into ServerCounters. It
// fails when the page has no tracking_ metric at all (not a replica's).
func scrapeCounters(ctx context.Context, client *http.Client, url string) (ServerCounters, error) {
	c, _, err := scrapeReplica(ctx, client, url)
	return c, err
}

// scrapeReplica is scrapeCounters with the delivery latency histogram.
func scrapeReplica(ctx context.Context, client *http.Client, url string) (ServerCounters, latencyBuckets, error) {
	var c ServerCounters
	lat := latencyBuckets{}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return c, nil, fmt.Errorf("metrics %s: %w", url, err)
	}
	// The text format: a client that asks for nothing in particular gets it.
	req.Header.Set("Accept", "text/plain")
	resp, err := client.Do(req)
	if err != nil {
		return c, nil, fmt.Errorf("metrics %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c, nil, fmt.Errorf("metrics %s: %s", url, resp.Status)
	}
	found := false
	err = parseMetrics(resp.Body, func(s counterSample) {
		found = c.take(s) || found
		lat.take(s)
	})
	if err != nil {
		return c, nil, fmt.Errorf("metrics %s: %w", url, err)
	}
	if !found {
		return c, nil, fmt.Errorf("metrics %s: no tracking_ metric (not a tracking replica's /metrics?)", url)
	}
	return c, lat, nil
}

// parseMetrics calls f for each sample of the Prometheus text exposition
// format read from r (comments and blank lines skipped).
func parseMetrics(r io.Reader, f func(counterSample)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		s, err := parseSample(text)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		f(s)
	}
	return sc.Err()
}

// parseSample reads `name{label="value",...} value [timestamp]`.
func parseSample(text string) (counterSample, error) {
	var s counterSample
	i := strings.IndexAny(text, "{ \t")
	if i <= 0 {
		return s, fmt.Errorf("no value in %q", text)
	}
	s.name, text = text[:i], text[i:]
	if text[0] == '{' {
		s.labels = map[string]string{}
		text = text[1:]
		for {
			text = strings.TrimLeft(text, " ,")
			if text == "" {
				return s, fmt.Errorf("unterminated labels of %s", s.name)
			}
			if text[0] == '}' {
				text = text[1:]
				break
			}
			eq := strings.IndexByte(text, '=')
			if eq <= 0 || eq+1 >= len(text) || text[eq+1] != '"' {
				return s, fmt.Errorf("bad label in %s", s.name)
			}
			key := strings.TrimSpace(text[:eq])
			val, rest, err := unquoteLabel(text[eq+1:])
			if err != nil {
				return s, fmt.Errorf("label %s of %s: %w", key, s.name, err)
			}
			s.labels[key], text = val, rest
		}
	}
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value for %s", s.name)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("value of %s: %w", s.name, err)
	}
	s.value = v
	return s, nil
}

// unquoteLabel reads a quoted label value ("..." with \\, \" and \n
// escapes) at the start of text and returns it and what follows.
func unquoteLabel(text string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(text); i++ {
		switch c := text[i]; c {
		case '"':
			return b.String(), text[i+1:], nil
		case '\\':
			if i+1 == len(text) {
				return "", "", fmt.Errorf("unterminated value")
			}
			i++
			switch text[i] {
			case 'n':
				b.WriteByte('\n')
			default:
				b.WriteByte(text[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("unterminated value")
}
