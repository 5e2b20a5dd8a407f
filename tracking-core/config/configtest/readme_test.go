package configtest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/config/configtest"
)

type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }

// The check fails on a default that differs, a variable read but not
// documented, and one documented but not read.
func TestCheckREADME(t *testing.T) {
	ok := []config.Var{{Name: "GATEWAY_PORT", Default: "8080"}, {Name: "REPLICAS", Default: "2"}, {Name: "SIMULATOR", Default: "on"}, {Name: "BIN_DIR", Default: "bin"}, {Name: "PLATFORM_LOG_DIR", Default: ".tmp/platform"},
		{Name: "AUTH_MODE", Default: ""}, {Name: "AUTH_JWT_SECRET", Default: ""}, {Name: "AUTH_JWT_SECRET_FILE", Default: ""}, {Name: "AUTH_JWKS_URL", Default: ""},
		{Name: "REDIS_ADDR", Default: ""}, {Name: "KAFKA_BROKERS", Default: ""}, {Name: "HISTORY_DSN", Default: ""}, {Name: "CONSUL_HTTP_ADDR", Default: ""}}
	r := &recorder{TB: t}
	configtest.CheckREADME(r, "platform", ok)
	if len(r.errs) > 0 {
		t.Fatalf("the platform's variables: %q", r.errs)
	}
	bad := append([]config.Var{{Name: "GATEWAY_PORT", Default: "9090"}, {Name: "NOT_DOCUMENTED", Default: ""}}, ok[1:len(ok)-1]...)
	r = &recorder{TB: t}
	configtest.CheckREADME(r, "platform", bad)
	got := strings.Join(r.errs, "\n")
	for _, want := range []string{"the default of GATEWAY_PORT is `9090`", "no row documents NOT_DOCUMENTED", "CONSUL_HTTP_ADDR is documented for platform but not read"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q: none says %q", got, want)
		}
	}
}
