package integration_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricSet is a process's /metrics, by family name.
type metricSet map[string]*dto.MetricFamily

// scrape reads base's /metrics.
func scrape(base string) (metricSet, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", base, res.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(res.Body)
}

// sum adds the series of name whose labels include every pair of match.
func (m metricSet) sum(name string, match map[string]string) float64 {
	var total float64
	for _, s := range m[name].GetMetric() {
		have := map[string]string{}
		for _, l := range s.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		if matches(have, match) {
			total += s.GetCounter().GetValue() + s.GetGauge().GetValue() + s.GetUntyped().GetValue()
		}
	}
	return total
}

func matches(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// metric is the sum of p's series of name whose labels include match.
func (p *proc) metric(t *testing.T, name string, match map[string]string) float64 {
	t.Helper()
	m, err := scrape(p.url())
	if err != nil {
		t.Fatal(err)
	}
	return m.sum(name, match)
}
