package deploycheck

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Compose is the part of a docker-compose.yml that the checks read.
type Compose struct {
	Name     string                     `yaml:"name"`
	Services map[string]*ComposeService `yaml:"services"`
}

// ComposeService is one service of a Compose file.
type ComposeService struct {
	Line            int           `yaml:"-"` // of the service's key in the file
	Image           string        `yaml:"image"`
	Build           *ComposeBuild `yaml:"build"`
	Command         StringOrList  `yaml:"command"`
	Entrypoint      StringOrList  `yaml:"entrypoint"`
	Environment     EnvMap        `yaml:"environment"`
	Ports           []PortSpec    `yaml:"ports"`
	Expose          []string      `yaml:"expose"`
	ContainerName   string        `yaml:"container_name"`
	Hostname        string        `yaml:"hostname"`
	DependsOn       DependsOn     `yaml:"depends_on"`
	Healthcheck     *Healthcheck  `yaml:"healthcheck"`
	Deploy          *Deploy       `yaml:"deploy"`
	Scale           *int          `yaml:"scale"`
	Restart         string        `yaml:"restart"`
	StopGracePeriod string        `yaml:"stop_grace_period"`
}

// ComposeBuild is the build section (a string is the context).
type ComposeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
	Target     string `yaml:"target"`
}

// UnmarshalYAML accepts "build: ." and the long form.
func (b *ComposeBuild) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain ComposeBuild
	return n.Decode((*plain)(b))
}

// Healthcheck is a service's healthcheck.
type Healthcheck struct {
	Test     StringOrList `yaml:"test"`
	Disable  bool         `yaml:"disable"`
	Interval string       `yaml:"interval"`
}

// Deploy is the deploy section.
type Deploy struct {
	Replicas *int `yaml:"replicas"`
}

// StringOrList is a command-like value: a string or a list of strings.
type StringOrList []string

// UnmarshalYAML accepts both forms; a string is kept as one element.
func (s *StringOrList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = StringOrList{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// EnvEntry is one environment variable of a service, with the line that sets it.
type EnvEntry struct {
	Name  string
	Value string
	Set   bool // false for "- NAME" (taken from the shell running compose)
	Line  int
}

// EnvMap is a service's environment, in either Compose form.
type EnvMap []EnvEntry

// UnmarshalYAML accepts the map form and the list form ("NAME=value").
func (e *EnvMap) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ent := EnvEntry{Name: k.Value, Line: k.Line}
			if !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
				ent.Value, ent.Set = v.Value, true
			}
			*e = append(*e, ent)
		}
	case yaml.SequenceNode:
		for _, it := range n.Content {
			k, v, ok := strings.Cut(it.Value, "=")
			*e = append(*e, EnvEntry{Name: k, Value: v, Set: ok, Line: it.Line})
		}
	default:
		return fmt.Errorf("line %d: environment is neither a map nor a list", n.Line)
	}
	return nil
}

// Get returns the value of name, and whether it is set.
func (e EnvMap) Get(name string) (string, bool) {
	for _, ent := range e {
		if ent.Name == name {
			return ent.Value, ent.Set
		}
	}
	return "", false
}

// PortSpec is one entry of ports.
type PortSpec struct {
	Published string // host port or range, "" when Docker picks one
	Target    string // container port
	Raw       string
	Line      int
}

// UnmarshalYAML accepts "8080", "8080:8080", "127.0.0.1:8080:8080/tcp" and
// the long form.
func (p *PortSpec) UnmarshalYAML(n *yaml.Node) error {
	p.Line = n.Line
	if n.Kind == yaml.ScalarNode {
		p.Raw = n.Value
		s, _, _ := strings.Cut(n.Value, "/")
		parts := strings.Split(s, ":")
		p.Target = parts[len(parts)-1]
		if len(parts) >= 2 {
			p.Published = parts[len(parts)-2]
		}
		return nil
	}
	var long struct {
		Target    yaml.Node `yaml:"target"`
		Published yaml.Node `yaml:"published"`
	}
	if err := n.Decode(&long); err != nil {
		return err
	}
	p.Target, p.Published = long.Target.Value, long.Published.Value
	p.Raw = fmt.Sprintf("target %s published %s", p.Target, p.Published)
	return nil
}

// DependsOn maps a service's dependencies to their condition.
type DependsOn map[string]string

// UnmarshalYAML accepts the list form (condition service_started) and the
// long form.
func (d *DependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = DependsOn{}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, it := range n.Content {
			(*d)[it.Value] = "service_started"
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			var long struct {
				Condition string `yaml:"condition"`
			}
			if err := n.Content[i+1].Decode(&long); err != nil {
				return err
			}
			if long.Condition == "" {
				long.Condition = "service_started"
			}
			(*d)[n.Content[i].Value] = long.Condition
		}
	default:
		return fmt.Errorf("line %d: depends_on is neither a list nor a map", n.Line)
	}
	return nil
}

// ParseCompose reads a Compose file.
func ParseCompose(file string) (*Compose, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var c Compose
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	if len(c.Services) == 0 {
		return nil, fmt.Errorf("%s: no services", file)
	}
	// Record where each service starts, for the failure messages.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err == nil && len(doc.Content) == 1 {
		top := doc.Content[0]
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value != "services" {
				continue
			}
			svcs := top.Content[i+1]
			for j := 0; j+1 < len(svcs.Content); j += 2 {
				if s := c.Services[svcs.Content[j].Value]; s != nil {
					s.Line = svcs.Content[j].Line
				}
			}
		}
	}
	return &c, nil
}

// ServiceNames returns the service names, sorted.
func (c *Compose) ServiceNames() []string {
	var out []string
	for n := range c.Services {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Replicas returns how many containers `docker compose up` starts for the
// service: deploy.replicas, else scale, else 1.
func (s *ComposeService) Replicas() int {
	if s.Deploy != nil && s.Deploy.Replicas != nil {
		return *s.Deploy.Replicas
	}
	if s.Scale != nil {
		return *s.Scale
	}
	return 1
}

// HostPort splits "host:port" (also "scheme://host:port") and reports
// whether s had that shape.
func HostPort(s string) (host string, port int, ok bool) {
	if _, after, found := strings.Cut(s, "://"); found {
		s = after
	}
	s, _, _ = strings.Cut(s, "/")
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, false
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return "", 0, false
	}
	return s[:i], p, true
}
