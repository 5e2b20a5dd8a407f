package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/tracking/redis/team_one?token=abc", "/tracking/redis/team_one?token=REDACTED"},
		{"/x?a=1&access_token=s3cr3t&b=2", "/x?a=1&access_token=REDACTED&b=2"},
		{"/x?TOKEN=abc&Access_Token=def", "/x?TOKEN=REDACTED&Access_Token=REDACTED"},
		{"token=abc", "token=REDACTED"},
		{"a=1;token=abc", "a=1;token=REDACTED"},
		{"/x?mytoken=keep&tokens=keep", "/x?mytoken=keep&tokens=keep"},
		{"/x?token=", "/x?token=REDACTED"},
		{"/x?token=a#frag", "/x?token=REDACTED#frag"},
		{`Get "http://h/x?token=abc": dial tcp: refused`, `Get "http://h/x?token=REDACTED": dial tcp: refused`},
		{"no query here", "no query here"},
		// Names as a server reads them: percent-decoded (auth.RedactQuery).
		{"/x?access%5Ftoken=abc&b=2", "/x?access%5Ftoken=REDACTED&b=2"},
		{"/x?%61ccess_token=abc", "/x?%61ccess_token=REDACTED"},
		{"/x?%74oken=abc;a=1", "/x?%74oken=REDACTED;a=1"},
		{`Get "http://h/x?a=1&ACCESS%5fTOKEN=abc": EOF`, `Get "http://h/x?a=1&ACCESS%5fTOKEN=REDACTED": EOF`},
		{"/cb#access_token=abc&state=1", "/cb#access_token=REDACTED&state=1"},
		{"/x?a=100%25 done", "/x?a=100%25 done"},
		{"two /a?token=t1 and /b?access_token=t2", "two /a?token=REDACTED and /b?access_token=REDACTED"},
	} {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestHandlerRedactsEverywhere(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil)))
	u, _ := url.Parse("http://h/p?token=t1")
	l.With("pre", "/a?token=t2").WithGroup("g").Info("msg /b?access_token=t3",
		"path", "/c?token=t4",
		"err", errors.New(`Get "http://h/?token=t5": EOF`),
		"url", u,
		"list", []string{"?token=t6"},
		slog.Group("sub", "q", "access_token=t7"),
		"n", 3)
	slog.NewLogLogger(NewHandler(slog.NewTextHandler(&buf, nil)), slog.LevelWarn).
		Printf("http: proxy error: %v", `Get "http://h/?token=t8"`)
	out := buf.String()
	for _, secret := range []string{"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"} {
		if strings.Contains(out, "token="+secret) {
			t.Errorf("log carries token=%s:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, `"n":3`) {
		t.Errorf("non-string attribute lost:\n%s", out)
	}
}
