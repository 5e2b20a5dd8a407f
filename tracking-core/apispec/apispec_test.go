package apispec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDocsAreWellFormed(t *testing.T) {
	d, err := Load(Dir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	if n := len(d.Operations()); n < 40 {
		t.Errorf("%d operations: is openapi.yaml whole?", n)
	}
}

// Check finds what is wrong: a $ref to nothing, an undeclared path
// parameter, another version, an operation of another channel.
func TestCheckFindsProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(OpenAPIFile, `openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /a/{id}:
    get:
      operationId: a
      parameters:
        - {name: q, in: query, description: one, two, schema: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/Nope'}
`)
	write(AsyncAPIFile, `asyncapi: 3.0.0
info: {title: t, version: '1'}
channels:
  c: {x-transport: sse, address: '/c/{x}', messages: {m: {payload: {$ref: 'openapi.yaml#/components/schemas/Gone'}}}}
  d: {x-transport: websocket, address: /d, messages: {n: {payload: {type: string}}}}
operations:
  o: {action: push, channel: {$ref: '#/channels/c'}, messages: [{$ref: '#/channels/d/messages/n'}]}
`)
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Check()
	if err == nil {
		t.Fatal("Check passed broken documents")
	}
	for _, want := range []string{
		`openapi is "3.0.3", want 3.1.x`,
		`$ref "#/components/responses/Nope"`,
		`path parameter {id} is not declared`,
		`parameter q: unknown field "two"`,
		`/parameters/0/two is null`,
		`channel c: parameter {x} is not declared`,
		`$ref "openapi.yaml#/components/schemas/Gone"`,
		`action "push"`,
		`is not a message of its channel #/channels/c`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check's error lacks %q:\n%v", want, err)
		}
	}
}

func TestValidateValue(t *testing.T) {
	d, err := Load(Dir())
	if err != nil {
		t.Fatal(err)
	}
	const ref = OpenAPIFile + "#/components/schemas/Position"
	good := map[string]any{"id": "a", "workerId": "w-1", "team": "t", "timeStamp": "2026-11-22T13:21:04Z",
		"location": map[string]any{"latitude": 1.0, "longitude": 2.0}}
	if err := d.ValidateValue(ref, good); err != nil {
		t.Errorf("a good position: %v", err)
	}
	good["location"] = map[string]any{"latitude": 91.0, "longitude": 2.0}
	if err := d.ValidateValue(ref, good); err == nil || !strings.Contains(err.Error(), "latitude") {
		t.Errorf("latitude 91: %v, want an error naming latitude", err)
	}
}
