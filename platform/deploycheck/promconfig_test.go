package deploycheck

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/dns" // dns_sd_configs
)

// deploy/prometheus/prometheus.yml loads as Prometheus loads its
// configuration (unknown keys, bad durations or relabellings fail).
func TestPrometheusConfigLoads(t *testing.T) {
	path := filepath.Join(root(t), "deploy/prometheus/prometheus.yml")
	cfg, err := config.LoadFile(path, false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ScrapeConfigs) == 0 || len(cfg.RuleFiles) == 0 {
		t.Fatalf("%s: %d scrape configs, %d rule files", path, len(cfg.ScrapeConfigs), len(cfg.RuleFiles))
	}
}
