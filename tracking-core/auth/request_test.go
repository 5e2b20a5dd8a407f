package auth_test

import (
	"net/http/httptest"
	"testing"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
)

func TestTokenFromRequest(t *testing.T) {
	for _, c := range []struct {
		name    string
		target  string
		headers []string
		want    string
		wantErr string
	}{
		{"nothing", "/tracking/team_one", nil, "", ""},
		{"bearer", "/tracking", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", ""},
		{"scheme in any case, extra spaces", "/tracking", []string{"  bEaReR   abc.def.ghi  "}, "abc.def.ghi", ""},
		{"query", "/tracking/team_one?x=1&access_token=abc.def.ghi", nil, "abc.def.ghi", ""},
		{"query, escaped", "/tracking/team_one?access_token=a%2Eb.c", nil, "a.b.c", ""},
		{"header wins over query", "/tracking/team_one?access_token=from.query.x", []string{"Bearer from.header.x"}, "from.header.x", ""},
		{"token parameter is not read", "/tracking/team_one?token=abc", nil, "", ""},
		{"basic", "/tracking", []string{"Basic dXNlcjpwYXNz"}, "", `want "Bearer <token>", got scheme "Basic"`},
		{"bare token", "/tracking", []string{"abc.def.ghi"}, "", `got scheme "abc.def.ghi"`},
		{"bearer without token", "/tracking", []string{"Bearer"}, "", `"Bearer" without a token`},
		{"bearer and spaces", "/tracking", []string{"Bearer   "}, "", `"Bearer" without a token`},
		{"two words", "/tracking", []string{"Bearer a b"}, "", "more than one word"},
		{"empty header", "/tracking?access_token=x.y.z", []string{""}, "", `got scheme ""`},
		{"repeated header", "/tracking", []string{"Bearer a", "Bearer b"}, "", "the header is repeated"},
		{"repeated parameter", "/t?access_token=a&access_token=b", nil, "", "the access_token parameter is repeated"},
		{"empty parameter", "/t?access_token=", nil, "", "the access_token parameter is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", c.target, nil)
			for _, h := range c.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := auth.TokenFromRequest(r)
			if c.wantErr != "" {
				wantCode(t, err, tracking.CodeUnauthorized, c.wantErr)
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
