package apispec

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var openAPIVersion = regexp.MustCompile(`^3\.1\.\d+$`)

// parameterFields are the fields of an OpenAPI 3.1 Parameter Object.
var parameterFields = []string{"name", "in", "description", "required", "deprecated", "allowEmptyValue",
	"style", "explode", "allowReserved", "schema", "example", "examples", "content"}

// Check checks both documents' structure: what OpenAPI 3.1 and AsyncAPI 3.0
// require of the parts this project uses, and that every $ref resolves. It
// returns every problem found, joined.
func (d *Docs) Check() error {
	var errs []error
	bad := func(file, format string, args ...any) {
		errs = append(errs, fmt.Errorf(file+": "+format, args...))
	}
	for _, f := range []string{OpenAPIFile, AsyncAPIFile} {
		root, _ := d.doc(f)
		walkNulls(root, "", func(ptr string) {
			bad(f, "%s is null: a YAML comma in a flow mapping split a value? (quote it)", ptr)
		})
		walkRefs(root, "", func(ptr, ref string) {
			if _, _, err := d.Resolve(f, ref); err != nil {
				bad(f, "%s: %v", ptr, err)
			}
		})
		info, ok := root["info"].(map[string]any)
		if !ok {
			bad(f, "info is required")
		} else {
			for _, k := range []string{"title", "version"} {
				if s, _ := info[k].(string); s == "" {
					bad(f, "info.%s is required", k)
				}
			}
		}
	}
	d.checkOpenAPI(bad)
	d.checkAsyncAPI(bad)
	return errors.Join(errs...)
}

func (d *Docs) checkOpenAPI(bad func(file, format string, args ...any)) {
	const f = OpenAPIFile
	if v, _ := d.OpenAPI["openapi"].(string); !openAPIVersion.MatchString(v) {
		bad(f, "openapi is %q, want 3.1.x", v)
	}
	if _, ok := d.OpenAPI["paths"].(map[string]any); !ok {
		bad(f, "paths is required (this API has routes)")
	}
	comps, _ := d.OpenAPI["components"].(map[string]any)
	schemes, _ := comps["securitySchemes"].(map[string]any)
	checkSecurity := func(where string, v any) {
		reqs, _ := v.([]any)
		for _, r := range reqs {
			for name := range r.(map[string]any) {
				if _, ok := schemes[name]; !ok {
					bad(f, "%s: security scheme %q is not in components.securitySchemes", where, name)
				}
			}
		}
	}
	checkSecurity("security", d.OpenAPI["security"])
	ids := map[string]string{}
	for p := range d.OpenAPI["paths"].(map[string]any) {
		if !strings.HasPrefix(p, "/") {
			bad(f, "path %q does not start with /", p)
		}
	}
	for _, op := range d.Operations() {
		where := op.Key()
		if op.ID == "" {
			bad(f, "%s: operationId is required here (the tests name operations by it)", where)
		} else if other, dup := ids[op.ID]; dup {
			bad(f, "%s: operationId %q is also %s's", where, op.ID, other)
		} else {
			ids[op.ID] = where
		}
		if rs, ok := op.Node["responses"].(map[string]any); !ok || len(rs) == 0 {
			bad(f, "%s: responses is required", where)
		}
		for _, s := range op.ServedBy {
			if s != "service" && s != "gateway" {
				bad(f, "%s: x-served-by %q: want service or gateway", where, s)
			}
		}
		checkSecurity(where+" security", op.Node["security"])
		params, err := d.Parameters(op)
		if err != nil {
			bad(f, "%s: %v", where, err)
			continue
		}
		var declared []string
		for _, p := range params {
			in, _ := p["in"].(string)
			name, _ := p["name"].(string)
			if name == "" || !slices.Contains([]string{"path", "query", "header", "cookie"}, in) {
				bad(f, "%s: a parameter needs a name and in (path, query, header or cookie)", where)
				continue
			}
			for k := range p {
				if !slices.Contains(parameterFields, k) && !strings.HasPrefix(k, "x-") {
					bad(f, "%s: parameter %s: unknown field %q (a YAML comma in a flow mapping?)", where, name, k)
				}
			}
			if _, ok := p["schema"]; !ok {
				if _, ok := p["content"]; !ok {
					bad(f, "%s: parameter %s needs a schema or content", where, name)
				}
			}
			if in == "path" {
				declared = append(declared, name)
				if p["required"] != true {
					bad(f, "%s: path parameter %s must be required", where, name)
				}
			}
		}
		want := PathParams(op.Path)
		for _, n := range want {
			if !slices.Contains(declared, n) {
				bad(f, "%s: path parameter {%s} is not declared", where, n)
			}
		}
		for _, n := range declared {
			if !slices.Contains(want, n) {
				bad(f, "%s: parameter %s is declared in: path but not in the path", where, n)
			}
		}
	}
}

func (d *Docs) checkAsyncAPI(bad func(file, format string, args ...any)) {
	const f = AsyncAPIFile
	if v, _ := d.AsyncAPI["asyncapi"].(string); v != "3.0.0" {
		bad(f, "asyncapi is %q, want 3.0.0", v)
	}
	channels, _ := d.AsyncAPI["channels"].(map[string]any)
	if len(channels) == 0 {
		bad(f, "channels: none")
	}
	for _, name := range sortedKeys(channels) {
		ch, _ := channels[name].(map[string]any)
		addr, _ := ch["address"].(string)
		if !strings.HasPrefix(addr, "/") {
			bad(f, "channel %s: address %q should be a path", name, addr)
		}
		if tr, _ := ch["x-transport"].(string); tr != "websocket" && tr != "sse" {
			bad(f, "channel %s: x-transport %q: want websocket or sse", name, tr)
		}
		params, _ := ch["parameters"].(map[string]any)
		for _, p := range PathParams(addr) {
			if _, ok := params[p]; !ok {
				bad(f, "channel %s: parameter {%s} is not declared", name, p)
			}
		}
		msgs, _ := ch["messages"].(map[string]any)
		if len(msgs) == 0 {
			bad(f, "channel %s: no messages", name)
		}
		for _, mk := range sortedKeys(msgs) {
			m, _, err := d.deref(f, msgs[mk])
			if err != nil {
				continue // reported with the $refs
			}
			mm, _ := m.(map[string]any)
			if _, ok := mm["payload"]; !ok {
				bad(f, "channel %s: message %s has no payload", name, mk)
			}
		}
	}
	ops, _ := d.AsyncAPI["operations"].(map[string]any)
	if len(ops) == 0 {
		bad(f, "operations: none")
	}
	for _, name := range sortedKeys(ops) {
		op, _ := ops[name].(map[string]any)
		if a, _ := op["action"].(string); a != "send" && a != "receive" {
			bad(f, "operation %s: action %q: want send or receive", name, a)
		}
		ref, _ := op["channel"].(map[string]any)["$ref"].(string)
		if !strings.HasPrefix(ref, "#/channels/") {
			bad(f, "operation %s: channel must be a $ref to #/channels/...", name)
			continue
		}
		msgs, _ := op["messages"].([]any)
		for i, m := range msgs {
			mref, _ := m.(map[string]any)["$ref"].(string)
			if !strings.HasPrefix(mref, ref+"/messages/") {
				bad(f, "operation %s: messages[%d] %q is not a message of its channel %s", name, i, mref, ref)
			}
		}
	}
}
