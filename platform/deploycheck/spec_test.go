package deploycheck

// What the product contract (SPEC.md: Layout, Gateway, Configuration, Two
// commands) and issue 7 say the deployment must be. The checks compare the
// files and the code with these, and with each other.

// goService is one binary of the workspace and its Compose service.
type goService struct {
	Name          string // the binary, its module folder and its Compose service
	Port          int    // its HTTP_ADDR default; 0 for a client that listens on nothing
	Consul        string // the service name it registers in Consul, or ""
	Replicas      int    // replicas Compose starts; 0: one, and it is not scaled
	PublishedPort int    // the host port Compose publishes, or 0
}

var goServices = []goService{
	{Name: "tracking-redis", Port: 8081, Consul: "tracking-redis-service", Replicas: 2},
	{Name: "tracking-kafka", Port: 8082, Consul: "tracking-kafka-service", Replicas: 2},
	{Name: "api-gateway", Port: 8080, PublishedPort: 8080},
	{Name: "team-simulator"},
}

// gateway is the service that routes to the tracking services (by their
// Consul names) and that the simulator streams to.
const (
	gateway   = "api-gateway"
	simulator = "team-simulator"
)

// infraService is a server the platform uses, run from its official image.
type infraService struct {
	Name  string
	Image string // image repository; the tag is free
	Port  int    // where the services reach it
}

var infraServices = []infraService{
	{Name: "consul", Image: "hashicorp/consul", Port: 8500},
	{Name: "redis", Image: "redis", Port: 6379},
	{Name: "kafka", Image: "apache/kafka", Port: 9092},
}

// scopeAliases are the words by which the README's configuration tables
// name the services a variable applies to ("all", "tracking services").
var scopeAliases = map[string][]string{
	"tracking-redis": {"all", "tracking-redis", "tracking services"},
	"tracking-kafka": {"all", "tracking-kafka", "tracking services"},
	"api-gateway":    {"all", "api-gateway", "gateway"},
	"team-simulator": {"team-simulator", "simulator"},
}

// Final images: small and static, with no shell.
var finalBases = []string{"gcr.io/distroless/static", "scratch"}

// builtAsset is a directory that a build makes and a Go package embeds: an
// image must make it itself (a stage that runs the build, its output copied
// in), never take a developer's local copy from the context.
type builtAsset struct {
	Dir     string   // repository path
	Package string   // the Go package that embeds it
	Servers []string // the binaries that must embed it
}

var builtAssets = []builtAsset{
	// SPEC.md Gateway: "/ serves the view"; Layout: the view is "built and
	// embedded as a Go package that the gateway serves".
	{Dir: "team-tracking-view/dist", Package: "github.com/teamtrack/team-tracking-view", Servers: []string{"api-gateway"}},
}
