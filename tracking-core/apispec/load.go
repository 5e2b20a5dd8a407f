package apispec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// The documents' file names in docs/, also their resource names for $refs
// between them (asyncapi.yaml refers to openapi.yaml's schemas).
const (
	OpenAPIFile  = "openapi.yaml"
	AsyncAPIFile = "asyncapi.yaml"
	baseURL      = "file:///teamtrack/docs/"
)

// Docs are both documents, decoded as JSON values (map[string]any, []any,
// string, float64 or json.Number, bool, nil).
type Docs struct {
	OpenAPI  map[string]any
	AsyncAPI map[string]any
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

// Dir is the repository's docs/ folder, found from this source file.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs")
}

// Load reads both documents from dir.
func Load(dir string) (*Docs, error) {
	d := &Docs{compiler: jsonschema.NewCompiler(), compiled: map[string]*jsonschema.Schema{}}
	d.compiler.DefaultDraft(jsonschema.Draft2020)
	for _, f := range []struct {
		name string
		dst  *map[string]any
	}{{OpenAPIFile, &d.OpenAPI}, {AsyncAPIFile, &d.AsyncAPI}} {
		v, err := readYAML(filepath.Join(dir, f.name))
		if err != nil {
			return nil, err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: the document is not a mapping", f.name)
		}
		*f.dst = m
		if err := d.compiler.AddResource(baseURL+f.name, v); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return d, nil
}

// readYAML decodes a YAML file into JSON values: through encoding/json, so
// that what the schemas see is what a JSON client would send.
func readYAML(path string) (any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: not representable as JSON: %w", filepath.Base(path), err)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(j))
}

// JSON returns v (a value of the documents) as JSON bytes.
func JSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("apispec: a decoded document value is not JSON: %v", err))
	}
	return b
}

// ValidateValue checks v against the schema at ref: a reference such as
// "openapi.yaml#/components/schemas/Position" (relative to docs/).
func (d *Docs) ValidateValue(ref string, v any) error {
	sch, ok := d.compiled[ref]
	if !ok {
		var err error
		if sch, err = d.compiler.Compile(baseURL + ref); err != nil {
			return fmt.Errorf("schema %s: %w", ref, err)
		}
		d.compiled[ref] = sch
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSON(v)))
	if err != nil {
		return err
	}
	var ve *jsonschema.ValidationError
	if err := sch.Validate(inst); errors.As(err, &ve) {
		return fmt.Errorf("does not match %s: %s", ref, ve.Error())
	} else if err != nil {
		return err
	}
	return nil
}
