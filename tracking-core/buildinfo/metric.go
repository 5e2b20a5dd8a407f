package buildinfo

import "github.com/prometheus/client_golang/prometheus"

// Collector returns the gauge build_info{version,commit,date,goversion},
// always 1: dashboards join on it to tell which build each replica runs.
func Collector() prometheus.Collector {
	i := Get()
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "build_info",
		Help: "The build this process runs: version, commit, build date and Go version as labels; always 1.",
		ConstLabels: prometheus.Labels{
			"version": i.Version, "commit": i.Commit, "date": i.Date, "goversion": i.GoVersion,
		},
	}, func() float64 { return 1 })
}

// Health is the /healthz body: status ok and the build.
func Health() map[string]string {
	i := Get()
	return map[string]string{"status": "ok", "version": i.Version, "commit": i.Commit, "date": i.Date}
}
