// Package apispec reads the machine-readable descriptions of the API,
// docs/openapi.yaml (OpenAPI 3.1: the HTTP routes) and docs/asyncapi.yaml
// (AsyncAPI 3.0: the messages of the streams), checks their structure (the
// fields each version requires, every $ref resolving, path parameters
// declared) and validates values against their schemas (JSON Schema 2020-12,
// as OpenAPI 3.1 uses).
//
// It is for tests: those of httpapi and of the gateway hold the documents to
// the routes really served and send or decode every example with the real
// handlers and the wire package.
package apispec
