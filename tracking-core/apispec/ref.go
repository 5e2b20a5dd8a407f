package apispec

import (
	"fmt"
	"strconv"
	"strings"
)

// doc returns the document named file (OpenAPIFile or AsyncAPIFile).
func (d *Docs) doc(file string) (map[string]any, bool) {
	switch file {
	case OpenAPIFile:
		return d.OpenAPI, true
	case AsyncAPIFile:
		return d.AsyncAPI, true
	}
	return nil, false
}

// Resolve follows ref, met in document from: "#/a/b" in the same document,
// or "openapi.yaml#/a/b". It returns the value and its absolute reference
// ("file#/pointer").
func (d *Docs) Resolve(from, ref string) (any, string, error) {
	file, ptr, ok := strings.Cut(ref, "#")
	if !ok {
		return nil, "", fmt.Errorf("$ref %q: want file#/pointer or #/pointer", ref)
	}
	if file == "" {
		file = from
	}
	root, ok := d.doc(file)
	if !ok {
		return nil, "", fmt.Errorf("$ref %q: no document %q (want %s or %s)", ref, file, OpenAPIFile, AsyncAPIFile)
	}
	v, err := pointer(root, ptr)
	if err != nil {
		return nil, "", fmt.Errorf("$ref %q: %w", ref, err)
	}
	return v, file + "#" + ptr, nil
}

// deref follows $refs until a value that is not one (at most 16).
func (d *Docs) deref(from string, v any) (any, string, error) {
	abs := ""
	for range 16 {
		m, ok := v.(map[string]any)
		if !ok {
			return v, abs, nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v, abs, nil
		}
		var err error
		if v, abs, err = d.Resolve(from, ref); err != nil {
			return nil, "", err
		}
		from, _, _ = strings.Cut(abs, "#")
	}
	return nil, "", fmt.Errorf("$ref chain longer than 16 from %s", abs)
}

// pointer walks a JSON pointer (RFC 6901) from root.
func pointer(root any, ptr string) (any, error) {
	if ptr == "" {
		return root, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("pointer %q does not start with /", ptr)
	}
	v := root
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := v.(type) {
		case map[string]any:
			next, ok := n[tok]
			if !ok {
				return nil, fmt.Errorf("pointer %q: no member %q", ptr, tok)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, fmt.Errorf("pointer %q: no element %q", ptr, tok)
			}
			v = n[i]
		default:
			return nil, fmt.Errorf("pointer %q: %q is inside a scalar", ptr, tok)
		}
	}
	return v, nil
}

// Escape is a pointer token: ~ and / escaped.
func Escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// walkRefs calls f with the pointer and value of every $ref in v.
func walkRefs(v any, ptr string, f func(ptr, ref string)) {
	switch n := v.(type) {
	case map[string]any:
		if ref, ok := n["$ref"].(string); ok {
			f(ptr, ref)
		}
		for k, c := range n {
			walkRefs(c, ptr+"/"+Escape(k), f)
		}
	case []any:
		for i, c := range n {
			walkRefs(c, ptr+"/"+strconv.Itoa(i), f)
		}
	}
}
