package apispec

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Methods are the operations a path item may have, in OpenAPI's order.
var Methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Operation is one method of one path of openapi.yaml.
type Operation struct {
	Method string // GET, POST...
	Path   string // /tracking/{team}/ws
	ID     string // operationId
	// ServedBy is x-served-by: "service", "gateway" or both; default service.
	ServedBy []string
	Node     map[string]any
	pathItem map[string]any
}

// Key is "METHOD /path".
func (o Operation) Key() string { return o.Method + " " + o.Path }

// ServedByGateway and ServedByService read ServedBy.
func (o Operation) ServedByGateway() bool { return slices.Contains(o.ServedBy, "gateway") }
func (o Operation) ServedByService() bool { return slices.Contains(o.ServedBy, "service") }

// Operations lists openapi.yaml's operations, by path then method.
func (d *Docs) Operations() []Operation {
	paths, _ := d.OpenAPI["paths"].(map[string]any)
	keys := make([]string, 0, len(paths))
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	var ops []Operation
	for _, p := range keys {
		item, _ := paths[p].(map[string]any)
		for _, m := range Methods {
			node, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			op := Operation{Method: strings.ToUpper(m), Path: p, Node: node, pathItem: item, ServedBy: []string{"service"}}
			op.ID, _ = node["operationId"].(string)
			if sb, ok := node["x-served-by"].([]any); ok {
				op.ServedBy = op.ServedBy[:0]
				for _, s := range sb {
					if s, ok := s.(string); ok {
						op.ServedBy = append(op.ServedBy, s)
					}
				}
			}
			ops = append(ops, op)
		}
	}
	return ops
}

// Parameters returns the operation's parameters (the path item's and its
// own, the own overriding), $refs resolved.
func (d *Docs) Parameters(op Operation) ([]map[string]any, error) {
	var out []map[string]any
	seen := map[string]int{}
	for _, list := range []any{op.pathItem["parameters"], op.Node["parameters"]} {
		l, _ := list.([]any)
		for _, p := range l {
			v, _, err := d.deref(OpenAPIFile, p)
			if err != nil {
				return nil, err
			}
			pm, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: a parameter is not an object", op.Key())
			}
			key := fmt.Sprint(pm["in"], "/", pm["name"])
			if i, dup := seen[key]; dup {
				out[i] = pm
				continue
			}
			seen[key] = len(out)
			out = append(out, pm)
		}
	}
	return out, nil
}

// PathExample returns the example of the path parameter name ("" if none).
func (d *Docs) PathExample(op Operation, name string) string {
	params, _ := d.Parameters(op)
	for _, p := range params {
		if p["in"] == "path" && p["name"] == name {
			if s, ok := p["example"].(string); ok {
				return s
			}
		}
	}
	return ""
}

// RequestExample is one example of an operation's request body.
type RequestExample struct {
	Op          Operation
	ContentType string
	Name        string
	Value       any
	// Schema is the absolute reference of the body's schema.
	Schema string
}

// RequestExamples lists every request body example, in the order of
// Operations, then media type, then example name.
func (d *Docs) RequestExamples() ([]RequestExample, error) {
	var out []RequestExample
	for _, op := range d.Operations() {
		rb, ok := op.Node["requestBody"]
		if !ok {
			continue
		}
		base := "#/paths/" + Escape(op.Path) + "/" + strings.ToLower(op.Method) + "/requestBody"
		v, abs, err := d.deref(OpenAPIFile, rb)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op.Key(), err)
		}
		if abs != "" {
			_, base, _ = strings.Cut(abs, "#")
			base = "#" + base
		}
		content, _ := v.(map[string]any)["content"].(map[string]any)
		for _, ct := range sortedKeys(content) {
			media, _ := content[ct].(map[string]any)
			schema := OpenAPIFile + base + "/content/" + Escape(ct) + "/schema"
			if ex, ok := media["example"]; ok {
				out = append(out, RequestExample{Op: op, ContentType: ct, Name: "example", Value: ex, Schema: schema})
			}
			exs, _ := media["examples"].(map[string]any)
			for _, name := range sortedKeys(exs) {
				e, _, err := d.deref(OpenAPIFile, exs[name])
				if err != nil {
					return nil, fmt.Errorf("%s example %s: %w", op.Key(), name, err)
				}
				val, ok := e.(map[string]any)["value"]
				if !ok {
					return nil, fmt.Errorf("%s example %s: no value", op.Key(), name)
				}
				out = append(out, RequestExample{Op: op, ContentType: ct, Name: name, Value: val, Schema: schema})
			}
		}
	}
	return out, nil
}

// SchemaExample is one entry of a component schema's examples.
type SchemaExample struct {
	Name  string // the schema's name in components.schemas
	Value any
}

// SchemaExamples lists the examples of openapi.yaml's component schemas.
func (d *Docs) SchemaExamples() []SchemaExample {
	comps, _ := d.OpenAPI["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	var out []SchemaExample
	for _, name := range sortedKeys(schemas) {
		s, _ := schemas[name].(map[string]any)
		exs, _ := s["examples"].([]any)
		for _, e := range exs {
			out = append(out, SchemaExample{Name: name, Value: e})
		}
	}
	return out
}

var pathParam = regexp.MustCompile(`\{([^}/]+)\}`)

// PathParams returns the names of a path template's parameters.
func PathParams(path string) []string {
	var names []string
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		names = append(names, m[1])
	}
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
