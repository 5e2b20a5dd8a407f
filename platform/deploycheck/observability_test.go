package deploycheck

import (
	"bytes"
	"encoding/json"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/config/configtest"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// promOwn are the series Prometheus makes itself for every target (not
// exported by the code).
var promOwn = map[string]bool{"up": true}

// exportedMetrics are the names of the series the code exports, derived from
// the code: every prometheus.{Counter,Gauge,Histogram,Summary}Opts literal
// in the workspace's non-test Go files (histograms add _bucket, _sum and
// _count; summaries _sum and _count), and whatever the registry every
// binary starts from (service.NewRegistry: Go runtime and process
// collectors) gathers.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	dir := root(t)
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "node_modules" || n == "testdata" || strings.HasPrefix(n, ".") && path != dir {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := goparser.ParseFile(fset, path, nil, goparser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "prometheus" || !strings.HasSuffix(sel.Sel.Name, "Opts") {
				return true
			}
			var name string
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				switch key := kv.Key.(*ast.Ident).Name; key {
				case "Name":
					bl, ok := kv.Value.(*ast.BasicLit)
					if !ok || bl.Kind != token.STRING {
						t.Errorf("%s: a metric Name that is not a string literal: this check cannot read it", fset.Position(kv.Pos()))
						return true
					}
					name, _ = strconv.Unquote(bl.Value)
				case "Namespace", "Subsystem":
					t.Errorf("%s: %s is not read by this check: write the whole Name", fset.Position(kv.Pos()), key)
				}
			}
			if name == "" {
				t.Errorf("%s: %s without a Name", fset.Position(lit.Pos()), sel.Sel.Name)
				return true
			}
			names[name] = true
			switch sel.Sel.Name {
			case "HistogramOpts":
				names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
			case "SummaryOpts":
				names[name+"_sum"], names[name+"_count"] = true, true
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := service.NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	if len(names) < 50 {
		t.Fatalf("only %d metric names found in the code: the scan is broken", len(names))
	}
	return names
}

// The scan of the code finds what a real replica exports: every series a
// running tracking replica gathers (after a position in and out) is in it.
func TestExportedMetricsScanMatchesARealReplica(t *testing.T) {
	names := exportedMetrics(t)
	r := servicetest.StartReplica(t, memory.New(memory.NewBackend(), memory.Config{}), httpapi.Config{RecordsPerSecond: -1})
	c := apiclient.MustNew(r.URL+"/tracking", apiclient.Config{})
	p := tracking.Position{ID: "p1", WorkerID: "w1", Team: "team_one", Location: tracking.Location{Latitude: 1, Longitude: 2}, TimeStamp: time.Now().UTC()}
	if a, err := c.Post(t.Context(), bytes.NewReader(wire.AppendPosition(nil, &p))); err != nil || a.Accepted != 1 {
		t.Fatalf("post: %+v %v", a, err)
	}
	if got, err := c.LastPositions(t.Context(), "team_one"); err != nil || len(got) != 1 {
		t.Fatalf("positions: %d %v", len(got), err)
	}
	mfs, err := r.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) == 0 {
		t.Fatal("the replica gathers no metric")
	}
	for _, mf := range mfs {
		if !names[mf.GetName()] {
			t.Errorf("the replica exports %s, which the scan of the code did not find", mf.GetName())
		}
	}
}

// promql parses an expression as Prometheus does, with Grafana's
// $__rate_interval given a value, and returns the metric names it selects.
func promql(t *testing.T, where, expr string) []string {
	t.Helper()
	expr = strings.ReplaceAll(expr, "$__rate_interval", "1m")
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %q: %v", where, expr, err)
		return nil
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if vs.Name == "" {
			t.Errorf("%s: %q selects no metric by name", where, expr)
		}
		out = append(out, vs.Name)
		return nil
	})
	if len(out) == 0 {
		t.Errorf("%s: %q names no metric", where, expr)
	}
	return out
}

func checkNames(t *testing.T, where string, got []string, exported map[string]bool) {
	t.Helper()
	for _, n := range got {
		if !exported[n] && !promOwn[n] {
			t.Errorf("%s: metric %s is not exported by the code", where, n)
		}
	}
}

// grafanaDashboard is what this check reads of a dashboard's JSON model.
type grafanaDashboard struct {
	UID           string         `json:"uid"`
	Title         string         `json:"title"`
	SchemaVersion int            `json:"schemaVersion"`
	Panels        []grafanaPanel `json:"panels"`
}

type grafanaPanel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *grafanaDS               `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []struct {
		Datasource *grafanaDS `json:"datasource"`
		Expr       string     `json:"expr"`
		RefID      string     `json:"refId"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a collapsed row's
}

type grafanaDS struct{ Type, UID string }

// corePanels are panel types built into Grafana 11 and 12 (no plugin needed).
var corePanels = map[string]bool{"row": true, "timeseries": true, "stat": true, "gauge": true, "heatmap": true, "table": true, "bargauge": true, "text": true}

// schemaVersions is the newest dashboard schemaVersion of each Grafana
// major version this check knows: a dashboard with a higher one is from a
// newer Grafana and may not load.
var schemaVersions = map[int]int{11: 39, 12: 41}

// The dashboards parse, use the provisioned Prometheus, core panels only and
// a schema the compose file's Grafana reads; every query parses as PromQL
// and names metrics the code exports.
func TestDashboards(t *testing.T) {
	dir, exported := root(t), exportedMetrics(t)
	p := load(t)
	g, ok := profiled(p, "grafana")
	if !ok {
		t.Fatal("no grafana service in docker-compose.yml")
	}
	repo, tag, _ := strings.Cut(g.Image, ":")
	major, err := strconv.Atoi(strings.SplitN(tag, ".", 2)[0])
	if repo != "grafana/grafana" || err != nil || strings.Count(tag, ".") != 2 {
		t.Fatalf("grafana image %q: want grafana/grafana:MAJOR.MINOR.PATCH", g.Image)
	}
	maxSchema, known := schemaVersions[major]
	if !known {
		t.Fatalf("Grafana %s: which dashboard schema it reads is not known here (known: majors %v)", tag, slices.Sorted(maps.Keys(schemaVersions)))
	}

	var prov struct {
		Datasources []struct{ Name, UID, Type, URL string } `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(dir, "deploy/grafana/provisioning/datasources/prometheus.yml"), &prov)
	if len(prov.Datasources) != 1 || prov.Datasources[0].Type != "prometheus" || prov.Datasources[0].UID == "" {
		t.Fatalf("provisioned datasources %+v: want one prometheus with a uid", prov.Datasources)
	}
	dsUID := prov.Datasources[0].UID

	files, _ := filepath.Glob(filepath.Join(dir, "deploy/grafana/dashboards/*.json"))
	if len(files) == 0 {
		t.Fatal("no dashboard in deploy/grafana/dashboards")
	}
	uids := map[string]string{}
	used := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d grafanaDashboard
		dec := json.NewDecoder(strings.NewReader(string(b)))
		if err := dec.Decode(&d); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		name := filepath.Base(f)
		if d.UID == "" || d.Title == "" || uids[d.UID] != "" {
			t.Errorf("%s: uid %q title %q: each dashboard needs a title and its own uid", name, d.UID, d.Title)
		}
		uids[d.UID] = name
		if d.SchemaVersion < 36 || d.SchemaVersion > maxSchema {
			t.Errorf("%s: schemaVersion %d; Grafana %s reads 36-%d", name, d.SchemaVersion, tag, maxSchema)
		}
		panels := d.Panels
		for _, pn := range d.Panels {
			panels = append(panels, pn.Panels...)
		}
		ids := map[int]bool{}
		queries := 0
		for _, pn := range panels {
			where := name + ": panel " + strconv.Quote(pn.Title)
			if !corePanels[pn.Type] {
				t.Errorf("%s: type %q is not a core panel", where, pn.Type)
			}
			if ids[pn.ID] || pn.ID == 0 {
				t.Errorf("%s: id %d missing or repeated", where, pn.ID)
			}
			ids[pn.ID] = true
			if pn.GridPos.W <= 0 || pn.GridPos.X+pn.GridPos.W > 24 || pn.GridPos.H <= 0 {
				t.Errorf("%s: gridPos %+v outside the 24 columns", where, pn.GridPos)
			}
			if pn.Type == "row" || pn.Type == "text" {
				continue
			}
			if pn.Datasource == nil || pn.Datasource.UID != dsUID || len(pn.Targets) == 0 {
				t.Errorf("%s: want targets on the provisioned datasource %q", where, dsUID)
			}
			for _, q := range pn.Targets {
				if q.Datasource != nil && q.Datasource.UID != dsUID {
					t.Errorf("%s: target %s on datasource %q", where, q.RefID, q.Datasource.UID)
				}
				names := promql(t, where, q.Expr)
				checkNames(t, where, names, exported)
				for _, n := range names {
					used[n] = true
				}
				queries++
			}
		}
		if queries == 0 {
			t.Errorf("%s: no query", name)
		}
	}
	// What the issue asks the dashboards to show, by the metric showing it.
	for what, metric := range map[string]string{
		"connections by kind":        "tracking_connections",
		"positions in":               "tracking_records_total",
		"positions out":              "tracking_stream_positions_total",
		"end-to-end latency":         "tracking_delivery_latency_seconds_bucket",
		"conflated positions":        "tracking_stream_conflated_total",
		"dropped positions":          "tracking_stream_dropped_total",
		"slow-manager disconnects":   "tracking_reconnect_hints_total",
		"Redis publish errors":       "tracking_redis_publish_errors_total",
		"Kafka publish errors":       "tracking_kafka_publish_errors_total",
		"Redis queue length":         "tracking_redis_publish_queue",
		"Kafka queue length":         "tracking_kafka_publish_queue_length",
		"alert deliveries (webhook)": "webhook_deliveries_total",
		"alert deliveries (push)":    "push_deliveries_total",
		"history store":              "history_records_written_total",
		"ready replicas":             "gateway_upstream_instances",
	} {
		if !used[metric] {
			t.Errorf("no dashboard shows %s (%s)", what, metric)
		}
	}
}

// The alerting rules load as Prometheus loads them (rulefmt: strict YAML,
// every expression and template checked) and name exported metrics only;
// the usual trouble has a rule.
func TestAlertRules(t *testing.T) {
	dir, exported := root(t), exportedMetrics(t)
	files, _ := filepath.Glob(filepath.Join(dir, "deploy/prometheus/rules/*.yml"))
	if len(files) == 0 {
		t.Fatal("no rule file in deploy/prometheus/rules")
	}
	alerts := map[string]bool{}
	for _, f := range files {
		groups, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		for _, err := range errs {
			t.Errorf("%v", err)
		}
		if groups == nil {
			continue
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				where := filepath.Base(f) + ": " + r.Alert + r.Record
				checkNames(t, where, promql(t, where, r.Expr), exported)
				if r.Alert != "" {
					alerts[r.Alert] = true
					if r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
						t.Errorf("%s: want a summary annotation and a severity label", where)
					}
				}
			}
		}
	}
	for _, want := range []string{"TeamtrackNoReadyReplica", "TeamtrackBrokerPublishErrors", "TeamtrackDeliveryLatencyHigh"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

// The observability profile runs Prometheus and Grafana from pinned images
// with the files of deploy/ mounted where their configuration reads them;
// Prometheus scrapes each Go service at its port and loads the rules.
func TestObservabilityProfile(t *testing.T) {
	p, dir := load(t), root(t)
	mounts := map[string]map[string]string{} // service -> target -> source
	for _, name := range []string{"prometheus", "grafana"} {
		s, ok := profiled(p, name)
		if !ok {
			t.Fatalf("no %s service (profile observability)", name)
		}
		if !slices.Equal(s.Profiles, []string{"observability"}) {
			t.Errorf("%s: profiles %v, want [observability]", name, s.Profiles)
		}
		if _, tag, _ := strings.Cut(s.Image, ":"); tag == "" || tag == "latest" {
			t.Errorf("%s: image %q is not pinned", name, s.Image)
		}
		mounts[name] = map[string]string{}
		for _, v := range s.Volumes {
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s: %v", name, v.Source, err)
			}
			if rel, err := filepath.Rel(dir, v.Source); err != nil || !strings.HasPrefix(rel, "deploy"+string(filepath.Separator)) {
				t.Errorf("%s mounts %s, not a file of deploy/", name, v.Source)
			}
			mounts[name][v.Target] = v.Source
		}
	}

	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Type  string   `yaml:"type"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	confPath, ok := mounts["prometheus"]["/etc/prometheus/prometheus.yml"]
	if !ok {
		t.Fatal("prometheus: deploy/prometheus/prometheus.yml is not mounted at /etc/prometheus/prometheus.yml")
	}
	readYAML(t, confPath, &cfg)
	for _, rf := range cfg.RuleFiles {
		src, ok := mounts["prometheus"][filepath.Dir(rf)]
		if !ok {
			t.Errorf("rule_files %s: its folder is not mounted", rf)
			continue
		}
		if m, _ := filepath.Glob(filepath.Join(src, filepath.Base(rf))); len(m) == 0 {
			t.Errorf("rule_files %s matches no file of %s", rf, src)
		}
	}
	if len(cfg.RuleFiles) == 0 {
		t.Error("prometheus.yml loads no rule file")
	}
	jobs := map[string]string{} // job -> "host:port" it scrapes
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				jobs[sc.JobName] = tg
			}
		}
		for _, d := range sc.DNSSDConfigs {
			for _, n := range d.Names {
				jobs[sc.JobName] = n + ":" + strconv.Itoa(d.Port)
			}
		}
	}
	for _, g := range goServices {
		if g.Port == 0 {
			continue
		}
		if want := g.Name + ":" + strconv.Itoa(g.Port); jobs[g.Name] != want {
			t.Errorf("prometheus job %s scrapes %q, want %s (the service at its port)", g.Name, jobs[g.Name], want)
		}
	}
	if _, ok := mounts["grafana"]["/etc/grafana/provisioning"]; !ok {
		t.Error("grafana: deploy/grafana/provisioning is not mounted at /etc/grafana/provisioning")
	}
	var dp struct {
		Providers []struct {
			Options struct{ Path string } `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(dir, "deploy/grafana/provisioning/dashboards/teamtrack.yml"), &dp)
	for _, pr := range dp.Providers {
		src, ok := mounts["grafana"][pr.Options.Path]
		if !ok || filepath.Base(src) != "dashboards" {
			t.Errorf("dashboard provider path %s is not where deploy/grafana/dashboards is mounted", pr.Options.Path)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// profiled is a service of a profile: compose-go leaves those out of
// Services unless the profile is asked for.
func profiled(p *types.Project, name string) (types.ServiceConfig, bool) {
	if s, ok := p.Services[name]; ok {
		return s, true
	}
	s, ok := p.DisabledServices[name]
	return s, ok
}

// The chart's defaults are the code's (as the compose checks know them):
// each component's port and its SHUTDOWN_TIMEOUT default, from which the
// templates derive terminationGracePeriodSeconds (scripts/lint.sh helm
// renders and validates them).
func TestHelmValuesMatchTheCode(t *testing.T) {
	var values map[string]yaml.Node
	readYAML(t, filepath.Join(root(t), "deploy/helm/teamtrack/values.yaml"), &values)
	for key, svc := range map[string]string{"gateway": "api-gateway", "trackingRedis": "tracking-redis", "trackingKafka": "tracking-kafka"} {
		var v struct {
			Port                   int `yaml:"port"`
			ShutdownTimeoutSeconds int `yaml:"shutdownTimeoutSeconds"`
		}
		n := values[key]
		if err := n.Decode(&v); err != nil {
			t.Fatalf("values %s: %v", key, err)
		}
		g := goServices[slices.IndexFunc(goServices, func(g goService) bool { return g.Name == svc })]
		if v.Port != g.Port || time.Duration(v.ShutdownTimeoutSeconds)*time.Second != g.Drain {
			t.Errorf("values %s: port %d, shutdownTimeoutSeconds %d; the code's %s: %d, %v", key, v.Port, v.ShutdownTimeoutSeconds, svc, g.Port, g.Drain)
		}
	}
}

// Every variable the chart's templates set is one the README documents for
// that binary (so one the binary reads: its TestREADME checks that): a
// misspelt name would be ignored silently by the pod.
func TestHelmEnvironmentDocumented(t *testing.T) {
	rows, err := configtest.ReadREADME()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root(t), "deploy/helm/teamtrack/templates")
	envName := regexp.MustCompile(`(?m)^\s*- name: ([A-Z][A-Z0-9_]*)\s*$`)
	for file, binaries := range map[string][]string{
		"gateway.yaml":   {"api-gateway"},
		"tracking.yaml":  {"tracking-redis", "tracking-kafka"},
		"simulator.yaml": {"team-simulator"},
		"_helpers.tpl":   {"api-gateway", "tracking-redis", "tracking-kafka"}, // teamtrack.authEnv
	} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		found := envName.FindAllStringSubmatch(string(b), -1)
		if len(found) == 0 {
			t.Errorf("%s sets no variable: the pattern no longer matches the templates", file)
		}
		for _, m := range found {
			name := m[1]
			ok := slices.ContainsFunc(binaries, func(bin string) bool {
				return slices.ContainsFunc(rows, func(r configtest.Row) bool { return r.Name == name && r.For(bin) })
			})
			if !ok {
				t.Errorf("%s sets %s, which the README does not document for %v", file, name, binaries)
			}
		}
	}
}
