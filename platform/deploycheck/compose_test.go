package deploycheck

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/teamtrack/tracking-core/config/configtest"
)

// goService is a binary of the workspace and its Compose service (SPEC.md
// Layout, Configuration; issue 7).
type goService struct {
	Name      string        // binary, module folder and Compose service
	Port      int           // its HTTP_ADDR port; 0 for the simulator, which listens on nothing
	Replicas  int           // deploy.replicas; 0: one, not scaled
	Published bool          // Port is published on the host (the map at http://localhost:8080)
	Drain     time.Duration // its SHUTDOWN_TIMEOUT default: stop_grace_period must be longer
}

var goServices = []goService{
	{Name: "tracking-redis", Port: 8081, Replicas: 2, Drain: 15 * time.Second},
	{Name: "tracking-kafka", Port: 8082, Replicas: 2, Drain: 15 * time.Second},
	{Name: "api-gateway", Port: 8080, Published: true, Drain: 10 * time.Second},
	{Name: "team-simulator"},
}

// infra are the servers, from their official images, and where they listen.
var infra = map[string]struct {
	Image string
	Port  int
}{
	"consul": {"hashicorp/consul", 8500},
	"redis":  {"redis", 6379},
	"kafka":  {"apache/kafka", 9092},
}

// addressVars name another service of the project, as host:port.
var addressVars = map[string]string{"CONSUL_HTTP_ADDR": "consul", "REDIS_ADDR": "redis", "KAFKA_BROKERS": "kafka"}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.work")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return dir
}

// load reads docker-compose.yml as `docker compose` does, with an empty
// environment: the file's own defaults apply.
func load(t *testing.T) *types.Project {
	t.Helper()
	dir := root(t)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "docker-compose.yml")}, cli.WithWorkingDirectory(dir))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

func env(s types.ServiceConfig, name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

// Every Go service builds its module's binary from the root Dockerfile;
// the servers come from their official images with a pinned tag.
func TestComposeServices(t *testing.T) {
	p, dir := load(t), root(t)
	for _, g := range goServices {
		s, ok := p.Services[g.Name]
		if !ok || s.Build == nil {
			t.Errorf("no service %s built from the Dockerfile", g.Name)
			continue
		}
		if s.Build.Context != dir || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("%s: builds %s with context %s; want the root Dockerfile and context", g.Name, s.Build.Dockerfile, s.Build.Context)
		}
		if m := s.Build.Args["MODULE"]; m == nil || *m != g.Name {
			t.Errorf("%s: build arg MODULE is not %s", g.Name, g.Name)
		}
		if _, err := os.Stat(filepath.Join(dir, g.Name, "cmd", g.Name)); err != nil {
			t.Errorf("%s: the Dockerfile builds ./%s/cmd/%s: %v", g.Name, g.Name, g.Name, err)
		}
	}
	for name, want := range infra {
		s, ok := p.Services[name]
		repo, tag, _ := strings.Cut(s.Image, ":")
		if !ok || repo != want.Image || tag == "" || tag == "latest" {
			t.Errorf("service %s: image %q, want %s:<pinned tag>", name, s.Image, want.Image)
		}
	}
}

// Every variable set on a Go service is documented in the README for that
// service; each binary's TestREADME checks that the README documents
// exactly what it reads, so a misspelt or stale variable fails here instead
// of being silently ignored.
func TestComposeEnvironmentDocumented(t *testing.T) {
	p := load(t)
	rows, err := configtest.ReadREADME()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goServices {
		for name := range p.Services[g.Name].Environment {
			if !slices.ContainsFunc(rows, func(r configtest.Row) bool { return r.Name == name && r.For(g.Name) }) {
				t.Errorf("%s sets %s, which the README does not document for %s (so it does not read it)", g.Name, name, g.Name)
			}
		}
	}
}

// Ports are the contract's; addresses name services of the project at
// their ports, each waited for; the tracking services can be scaled
// (`docker compose up --scale tracking-redis=3`) and drain before a kill.
func TestComposePortsAddressesScaling(t *testing.T) {
	p := load(t)
	for _, g := range goServices {
		s := p.Services[g.Name]
		if g.Port != 0 {
			if _, port, _ := net.SplitHostPort(env(s, "HTTP_ADDR")); port != strconv.Itoa(g.Port) {
				t.Errorf("%s: HTTP_ADDR=%q, want port %d", g.Name, env(s, "HTTP_ADDR"), g.Port)
			}
			if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= g.Drain {
				t.Errorf("%s: stop_grace_period must be longer than SHUTDOWN_TIMEOUT (%v)", g.Name, g.Drain)
			}
		}
		published := false
		for _, port := range s.Ports {
			published = published || (port.Published == strconv.Itoa(g.Port) && port.Target == uint32(g.Port))
			if port.Published != "" && !g.Published {
				t.Errorf("%s: publishes host port %s; only the gateway is reached from the host, and a fixed port stops --scale", g.Name, port.Published)
			}
		}
		if g.Published && !published {
			t.Errorf("%s: does not publish %d:%d", g.Name, g.Port, g.Port)
		}
		if g.Replicas > 0 {
			if s.ContainerName != "" || s.Hostname != "" {
				t.Errorf("%s: container_name or hostname set: replicas need their own (Consul registers each by hostname)", g.Name)
			}
			if s.Deploy == nil || s.Deploy.Replicas == nil || *s.Deploy.Replicas != g.Replicas {
				t.Errorf("%s: want deploy.replicas: %d", g.Name, g.Replicas)
			}
		}
		for name, target := range addressVars {
			if v := env(s, name); v != "" {
				if want := target + ":" + strconv.Itoa(infra[target].Port); v != want {
					t.Errorf("%s: %s=%q, want %s", g.Name, name, v, want)
				}
				if _, ok := s.DependsOn[target]; !ok {
					t.Errorf("%s: %s names %s, which is not in its depends_on", g.Name, name, target)
				}
			}
		}
	}
	sim := p.Services["team-simulator"]
	if _, ok := sim.DependsOn["api-gateway"]; env(sim, "HOST") != "api-gateway" || env(sim, "PORT") != "8080" || !ok {
		t.Errorf("team-simulator: HOST=%q PORT=%q; want the gateway, api-gateway 8080, in depends_on", env(sim, "HOST"), env(sim, "PORT"))
	}
	if adv := env(p.Services["kafka"], "KAFKA_ADVERTISED_LISTENERS"); !strings.Contains(adv, "://"+env(p.Services["tracking-kafka"], "KAFKA_BROKERS")) {
		t.Errorf("kafka advertises %q, not the KAFKA_BROKERS tracking-kafka is given", adv)
	}
}
