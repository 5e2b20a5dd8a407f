package deploycheck

import (
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestComposeServices: the services of issue 7, the Go ones built from their
// module's Dockerfile with the repository root as context, the others from
// their official image.
func TestComposeServices(t *testing.T) {
	r := loadRepo(t)
	for _, g := range goServices {
		s := r.Compose.Services[g.Name]
		if s == nil {
			t.Errorf("%s: no service %s (SPEC.md Layout: the %s binary)", composeFile, g.Name, g.Name)
			continue
		}
		where := composeWhere(g.Name, s.Line)
		if s.Build == nil {
			t.Errorf("%s: no build section; it must build %s/Dockerfile", where, g.Name)
			continue
		}
		if ctx := path.Clean(s.Build.Context); ctx != "." {
			t.Errorf("%s: build context %q, want \".\" (the repository root: the Dockerfiles copy go.work and several modules)", where, s.Build.Context)
		}
		want := g.Name + "/Dockerfile"
		if got := path.Clean(s.Build.Dockerfile); got != want {
			t.Errorf("%s: build dockerfile %q, want %q", where, s.Build.Dockerfile, want)
		}
		if s.Image != "" && !strings.Contains(s.Image, g.Name) {
			t.Errorf("%s: image %q does not name the binary %s", where, s.Image, g.Name)
		}
	}
	for _, inf := range infraServices {
		s := r.Compose.Services[inf.Name]
		if s == nil {
			t.Errorf("%s: no service %s (image %s)", composeFile, inf.Name, inf.Image)
			continue
		}
		repo, _, _ := strings.Cut(s.Image, ":")
		if repo != inf.Image {
			t.Errorf("%s: image %q, want %s:<tag>", composeWhere(inf.Name, s.Line), s.Image, inf.Image)
		}
		if !strings.Contains(s.Image, ":") || strings.HasSuffix(s.Image, ":latest") {
			t.Errorf("%s: image %q: pin a version tag", composeWhere(inf.Name, s.Line), s.Image)
		}
	}
}

// TestComposeEnvironmentReadByCode: every variable set on a Go service is one
// that its binary reads (a misspelt or stale variable is otherwise silently
// ignored, and the default used).
func TestComposeEnvironmentReadByCode(t *testing.T) {
	r := loadRepo(t)
	for _, g := range goServices {
		t.Run(g.Name, func(t *testing.T) {
			s := r.Compose.Services[g.Name]
			if s == nil {
				t.Skipf("no service %s (reported by TestComposeServices)", g.Name)
			}
			if len(s.Environment) == 0 {
				return
			}
			var names []string
			for _, e := range s.Environment {
				names = append(names, e.Name)
			}
			b := r.binary(g)
			if b.Err != nil {
				t.Fatalf("%s: cannot check its environment (%s): %v", composeWhere(g.Name, s.Line), strings.Join(names, ", "), b.Err)
			}
			read, err := EnvNames(b.Pkgs)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range s.Environment {
				if _, ok := read[e.Name]; !ok {
					t.Errorf("%s: environment %s is not read by the code of %s (%s and the workspace packages it uses that read the environment); it reads: %s",
						composeWhere(g.Name, e.Line), e.Name, g.Name, b.Target, strings.Join(sortedKeys(read), " "))
				}
			}
		})
	}
}

// TestComposeEnvironmentDocumented: every variable set on a Go service is in
// one of the README's configuration tables, for that service.
func TestComposeEnvironmentDocumented(t *testing.T) {
	r := loadRepo(t)
	if len(r.Readme) == 0 {
		t.Fatal("README.md: no configuration table (a table whose first column is \"variable\")")
	}
	for _, g := range goServices {
		s := r.Compose.Services[g.Name]
		if s == nil {
			continue
		}
		for _, e := range s.Environment {
			var scopes []string
			found := false
			for _, row := range r.Readme {
				if row.Name != e.Name {
					continue
				}
				scopes = append(scopes, row.Scope)
				if inScope(row.Scope, g.Name) {
					found = true
				}
			}
			switch {
			case found:
			case len(scopes) == 0:
				t.Errorf("%s: environment %s is not in the README's configuration tables", composeWhere(g.Name, e.Line), e.Name)
			default:
				t.Errorf("%s: environment %s is documented in the README for %q, not for %s", composeWhere(g.Name, e.Line), e.Name, scopes, g.Name)
			}
		}
	}
}

// inScope reports whether a README scope ("all", "tracking services",
// "tracking-redis", a heading "team-simulator settings") covers service.
func inScope(scope, service string) bool {
	scope = strings.ToLower(scope)
	for _, a := range scopeAliases[service] {
		if a == "all" {
			if slices.Contains(strings.FieldsFunc(scope, notWordChar), "all") {
				return true
			}
			continue
		}
		if strings.Contains(scope, a) {
			return true
		}
	}
	return false
}

func notWordChar(r rune) bool {
	return !(r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'))
}

// TestComposeAddresses: ports as SPEC.md says, and every address a service is
// given names a service of this file on the port it listens on, and is
// among what the service waits for.
func TestComposeAddresses(t *testing.T) {
	r := loadRepo(t)
	infraPort := map[string]int{}
	for _, inf := range infraServices {
		infraPort[inf.Name] = inf.Port
	}
	goPort := map[string]int{}
	for _, g := range goServices {
		goPort[g.Name] = g.Port
	}
	for _, g := range goServices {
		s := r.Compose.Services[g.Name]
		if s == nil {
			continue
		}
		where := composeWhere(g.Name, s.Line)
		if g.Port != 0 {
			if v, ok := s.Environment.Get("HTTP_ADDR"); ok {
				if _, p, ok := HostPort(v); !ok || p != g.Port {
					t.Errorf("%s: HTTP_ADDR=%q, want port %d (SPEC.md Configuration)", where, v, g.Port)
				}
			}
			for _, e := range s.Expose {
				if e, _, _ = strings.Cut(e, "/"); e != strconv.Itoa(g.Port) {
					t.Errorf("%s: expose %s, want %d", where, e, g.Port)
				}
			}
		}
		switch {
		case g.PublishedPort != 0:
			ok := false
			for _, p := range s.Ports {
				if p.Published == strconv.Itoa(g.PublishedPort) && p.Target == strconv.Itoa(g.Port) {
					ok = true
				} else {
					t.Errorf("%s: ports %q, want \"%d:%d\"", composeWhere(g.Name, p.Line), p.Raw, g.PublishedPort, g.Port)
				}
			}
			if !ok {
				t.Errorf("%s: does not publish \"%d:%d\" (the map at http://localhost:%d)", where, g.PublishedPort, g.Port, g.PublishedPort)
			}
		case len(s.Ports) > 0 && g.Replicas == 0:
			t.Errorf("%s: publishes %q; only %s is reached from the host", where, s.Ports[0].Raw, gateway)
		}
		for _, e := range s.Environment {
			for _, ref := range addressRefs(e.Name, e.Value) {
				ew := composeWhere(g.Name, e.Line)
				target := r.Compose.Services[ref.host]
				if target == nil {
					t.Errorf("%s: %s=%q names %q, which is not a service of %s", ew, e.Name, e.Value, ref.host, composeFile)
					continue
				}
				want, known := infraPort[ref.host]
				if p, ok := goPort[ref.host]; ok {
					want, known = p, p != 0
				}
				if ref.port != 0 && known && ref.port != want {
					t.Errorf("%s: %s=%q: %s listens on %d", ew, e.Name, e.Value, ref.host, want)
				}
				if _, ok := s.DependsOn[ref.host]; !ok {
					t.Errorf("%s: %s=%q uses %s, which is not in its depends_on", ew, e.Name, e.Value, ref.host)
				}
			}
		}
	}
	// The simulator streams to the gateway.
	if s := r.Compose.Services[simulator]; s != nil {
		where := composeWhere(simulator, s.Line)
		if v, ok := s.Environment.Get("HOST"); !ok || v != gateway {
			t.Errorf("%s: HOST=%q, want %s", where, v, gateway)
		}
		for _, g := range goServices {
			if g.Name != gateway {
				continue
			}
			if v, ok := s.Environment.Get("PORT"); !ok || v != strconv.Itoa(g.Port) {
				t.Errorf("%s: PORT=%q, want %d (the gateway's port)", where, v, g.Port)
			}
		}
	}
	// The brokers the Kafka service is given are the ones Kafka advertises.
	if s, k := r.Compose.Services["tracking-kafka"], r.Compose.Services["kafka"]; s != nil && k != nil {
		brokers, _ := s.Environment.Get("KAFKA_BROKERS")
		adv, _ := k.Environment.Get("KAFKA_ADVERTISED_LISTENERS")
		for _, b := range strings.Split(brokers, ",") {
			if b = strings.TrimSpace(b); b != "" && !strings.Contains(adv, "://"+b) {
				t.Errorf("%s: KAFKA_BROKERS has %s, which service kafka does not advertise (KAFKA_ADVERTISED_LISTENERS=%q)", composeWhere("tracking-kafka", s.Line), b, adv)
			}
		}
	}
}

type addressRef struct {
	host string
	port int
}

// addressRefs returns the hosts that an environment value names: each
// "host:port" of a (comma-separated) address, or the whole value of a
// variable named *HOST. Addresses with only a port (":8081") or a dotted
// host name are not references to services.
func addressRefs(name, value string) []addressRef {
	var out []addressRef
	if strings.HasSuffix(name, "HOST") && value != "" && !strings.ContainsAny(value, ":./") {
		return []addressRef{{host: value}}
	}
	for _, v := range strings.Split(value, ",") {
		h, p, ok := HostPort(strings.TrimSpace(v))
		if !ok || h == "" || strings.ContainsAny(h, ".[]") {
			continue
		}
		out = append(out, addressRef{h, p})
	}
	return out
}

// TestComposeScaling: `docker compose up --scale tracking-redis=N` works:
// no fixed container name, hostname or host port, and two replicas to
// start with.
func TestComposeScaling(t *testing.T) {
	r := loadRepo(t)
	for _, g := range goServices {
		s := r.Compose.Services[g.Name]
		if s == nil || g.Replicas == 0 {
			continue
		}
		where := composeWhere(g.Name, s.Line)
		if s.ContainerName != "" {
			t.Errorf("%s: container_name %q stops --scale (container names are unique)", where, s.ContainerName)
		}
		if s.Hostname != "" {
			t.Errorf("%s: hostname %q: every replica would register in Consul under the same name", where, s.Hostname)
		}
		for _, p := range s.Ports {
			if p.Published != "" {
				t.Errorf("%s: ports %q publishes a fixed host port, which a second replica cannot bind; use expose", composeWhere(g.Name, p.Line), p.Raw)
			}
		}
		if got := s.Replicas(); got != g.Replicas {
			t.Errorf("%s: %d replica(s), want deploy.replicas: %d", where, got, g.Replicas)
		}
	}
}

// TestComposeHealth: the servers have healthchecks, what waits for a
// healthy service waits for one that has a healthcheck (the Go images have
// none: distroless has no tool to run one), and a tracking replica is given
// time to drain on stop.
func TestComposeHealth(t *testing.T) {
	r := loadRepo(t)
	for _, inf := range infraServices {
		s := r.Compose.Services[inf.Name]
		if s == nil {
			continue
		}
		if !hasHealthcheck(s) {
			t.Errorf("%s: no healthcheck (the services using it wait for service_healthy)", composeWhere(inf.Name, s.Line))
		}
	}
	for _, name := range r.Compose.ServiceNames() {
		s := r.Compose.Services[name]
		for _, dep := range sortedKeys(s.DependsOn) {
			cond := s.DependsOn[dep]
			target := r.Compose.Services[dep]
			where := composeWhere(name, s.Line)
			switch {
			case target == nil:
				t.Errorf("%s: depends_on %s, which is not a service", where, dep)
			case cond == "service_healthy" && !hasHealthcheck(target):
				t.Errorf("%s: depends_on %s with service_healthy, but %s has no healthcheck", where, dep, dep)
			case cond == "service_started" && hasHealthcheck(target):
				t.Errorf("%s: depends_on %s with service_started, but %s has a healthcheck: wait for service_healthy", where, dep, dep)
			case cond != "service_healthy" && cond != "service_started" && cond != "service_completed_successfully":
				t.Errorf("%s: depends_on %s with unknown condition %q", where, dep, cond)
			}
		}
	}
	for _, g := range goServices {
		s := r.Compose.Services[g.Name]
		if s == nil || g.Port == 0 {
			continue
		}
		where := composeWhere(g.Name, s.Line)
		drain, ok := shutdownTimeout(r, g.Name, s)
		if !ok {
			t.Logf("%s: SHUTDOWN_TIMEOUT neither set nor documented for it in the README: its stop_grace_period is not checked", where)
			continue
		}
		grace := 10 * time.Second // Compose's default
		if s.StopGracePeriod != "" {
			d, err := time.ParseDuration(s.StopGracePeriod)
			if err != nil {
				t.Errorf("%s: stop_grace_period %q: %v", where, s.StopGracePeriod, err)
				continue
			}
			grace = d
		}
		if grace <= drain {
			t.Errorf("%s: stop_grace_period %v is not longer than SHUTDOWN_TIMEOUT %v: it is killed while draining", where, grace, drain)
		}
	}
}

func hasHealthcheck(s *ComposeService) bool {
	h := s.Healthcheck
	return h != nil && !h.Disable && len(h.Test) > 0 && h.Test[0] != "NONE"
}

// shutdownTimeout is the service's SHUTDOWN_TIMEOUT: set in Compose, else
// the README's default for it.
func shutdownTimeout(r *repoFacts, service string, s *ComposeService) (time.Duration, bool) {
	v, ok := s.Environment.Get("SHUTDOWN_TIMEOUT")
	if !ok {
		for _, row := range r.Readme {
			if row.Name == "SHUTDOWN_TIMEOUT" && inScope(row.Scope, service) {
				v, ok = strings.Trim(row.Default, "` "), true
			}
		}
	}
	if !ok {
		return 0, false
	}
	if ms, err := strconv.Atoi(v); err == nil {
		return time.Duration(ms) * time.Millisecond, true
	}
	d, err := time.ParseDuration(v)
	return d, err == nil
}

// TestComposeInfra: Kafka runs as one KRaft node (broker and controller),
// Consul's agent is reachable from the other containers.
func TestComposeInfra(t *testing.T) {
	r := loadRepo(t)
	if k := r.Compose.Services["kafka"]; k != nil {
		where := composeWhere("kafka", k.Line)
		roles, _ := k.Environment.Get("KAFKA_PROCESS_ROLES")
		rs := strings.Split(strings.ReplaceAll(roles, " ", ""), ",")
		if !slices.Contains(rs, "broker") || !slices.Contains(rs, "controller") {
			t.Errorf("%s: KAFKA_PROCESS_ROLES=%q, want broker,controller (KRaft, single node)", where, roles)
		}
		for _, name := range []string{"KAFKA_NODE_ID", "KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS", "KAFKA_CONTROLLER_LISTENER_NAMES", "KAFKA_CONTROLLER_QUORUM_VOTERS"} {
			if _, ok := k.Environment.Get(name); !ok {
				t.Errorf("%s: %s is not set (the image's defaults are dropped once any KAFKA_ variable is set)", where, name)
			}
		}
		for _, name := range []string{"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"} {
			if v, _ := k.Environment.Get(name); v != "1" {
				t.Errorf("%s: %s=%q, want 1 on a single broker", where, name, v)
			}
		}
	}
	if c := r.Compose.Services["consul"]; c != nil {
		cmd := strings.Join(c.Command, " ")
		if !strings.Contains(cmd, "agent") || !strings.Contains(cmd, "-client 0.0.0.0") && !strings.Contains(cmd, "-client=0.0.0.0") {
			t.Errorf("%s: command %q: want an agent with -client 0.0.0.0, so that the other containers reach its HTTP API", composeWhere("consul", c.Line), cmd)
		}
	}
}

// TestCodeNamesAndPorts: the code has the ports and Consul service names of
// SPEC.md, and the README's HTTP_ADDR row says the same ports.
func TestCodeNamesAndPorts(t *testing.T) {
	r := loadRepo(t)
	for _, g := range goServices {
		t.Run(g.Name, func(t *testing.T) {
			b := needBinary(t, r, g)
			lits, err := PackageLiterals(b.Main)
			if err != nil {
				t.Fatal(err)
			}
			if g.Port != 0 && !lits[":"+strconv.Itoa(g.Port)] {
				t.Errorf("%s (%s): no literal %q: its default HTTP_ADDR should be :%d (SPEC.md Configuration)", b.Target, g.Name, ":"+strconv.Itoa(g.Port), g.Port)
			}
			if g.Consul != "" && !lits[g.Consul] {
				t.Errorf("%s (%s): does not name its Consul service %q (SPEC.md Gateway)", b.Target, g.Name, g.Consul)
			}
		})
	}
	t.Run("gateway routes", func(t *testing.T) {
		dir := filepath.Join(r.Root, gateway)
		lits, err := ModuleLiterals(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range goServices {
			if g.Consul != "" && !lits[g.Consul] {
				t.Errorf("%s/: no Go source names %q, the Consul service that /tracking/%s/** routes to (SPEC.md Gateway)", gateway, g.Consul, strings.TrimPrefix(g.Name, "tracking-"))
			}
		}
	})
	t.Run("README HTTP_ADDR", func(t *testing.T) {
		def := ""
		for _, row := range r.Readme {
			if row.Name == "HTTP_ADDR" {
				def = row.Default
			}
		}
		if def == "" {
			t.Fatal("README.md: no HTTP_ADDR row with a default")
		}
		for _, g := range goServices {
			if g.Port == 0 {
				continue
			}
			if !strings.Contains(def, ":"+strconv.Itoa(g.Port)) {
				t.Errorf("README.md: HTTP_ADDR default %q does not give %s's port :%d", def, g.Name, g.Port)
			}
		}
	})
}
