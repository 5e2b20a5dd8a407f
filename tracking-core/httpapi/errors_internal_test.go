package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

func TestErrorBodyShowsDomainErrorsOnly(t *testing.T) {
	domain := &tracking.Error{Code: tracking.CodeInvalidField, Field: "location.latitude", Message: "out of range",
		Err: errors.New("strconv: parsing 91 at /src/secret.go")}
	for _, tc := range []struct {
		name      string
		err       error
		code, msg string
	}{
		{"domain", domain, "invalid_field", "location.latitude: out of range"},
		{"wrapped domain", fmt.Errorf("publish team t1: %w", domain), "invalid_field", "location.latitude: out of range"},
		{"plain", errors.New("dial tcp 10.1.2.3:6379: connection refused"), "internal", "internal error"},
		{"wrapped plain", fmt.Errorf("last positions of t1: %w", errors.New("redis: READONLY")), "internal", "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := wire.NewErrorBody(tc.err)
			if b.Code != tc.code || b.Message != tc.msg {
				t.Fatalf("%+v, want %s %q", b, tc.code, tc.msg)
			}
		})
	}
}

func TestWriteErrorOfAnInternalError(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, fmt.Errorf("last positions: %w", errors.New("dial tcp 10.1.2.3:6379: i/o timeout")))
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var e wire.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatal(err)
	}
	if e.Code != "internal" || e.Message != "internal error" || strings.Contains(rec.Body.String(), "10.1.2.3") {
		t.Fatalf("body %s", rec.Body.String())
	}
}
