package auth_test

import (
	"net/url"
	"testing"

	"github.com/teamtrack/tracking-core/auth"
)

func TestRedactQuery(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"a=1&b=2", "a=1&b=2"},
		{"access_token=abc.def.ghi", "access_token=REDACTED"},
		{"x=1&access_token=s3cr3t&y=2", "x=1&access_token=REDACTED&y=2"},
		{"token=abc", "token=REDACTED"},
		{"TOKEN=a&Access_Token=b", "TOKEN=REDACTED&Access_Token=REDACTED"},
		{"access%5Ftoken=abc", "access%5Ftoken=REDACTED"}, // a server reads this as access_token
		{"%74oken=abc&x=%41", "%74oken=REDACTED&x=%41"},
		{"a=1;token=abc;b=2", "a=1;token=REDACTED;b=2"},
		{"access_token=", "access_token=REDACTED"},
		{"access_token", "access_token"}, // no value to hide
		{"access_token=a=b=c&x", "access_token=REDACTED&x"},
		{"access_token=a&access_token=b", "access_token=REDACTED&access_token=REDACTED"},
		{"mytoken=keep&tokens=keep&token_type=bearer&id_token_hint=x", "mytoken=keep&tokens=keep&token_type=bearer&id_token_hint=x"},
		{"&&token=x&&", "&&token=REDACTED&&"},
		{"q=%zz&token=x", "q=%zz&token=REDACTED"},
		{"%zz=1&token=x", "%zz=1&token=REDACTED"},
	} {
		if got := auth.RedactQuery(c.in); got != c.want {
			t.Errorf("RedactQuery(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/tracking/redis/team_one?access_token=abc&x=1", "/tracking/redis/team_one?access_token=REDACTED&x=1"},
		{"http://user:pw@gw:8080/tracking/ws?token=abc", "http://user:xxxxx@gw:8080/tracking/ws?token=REDACTED"},
		{"/cb#access_token=abc&token_type=bearer", "/cb#access_token=REDACTED&token_type=bearer"},
		{"/tracking/team_one", "/tracking/team_one"},
		{"/a%20b?x=%2F", "/a%20b?x=%2F"},
	} {
		u, err := url.Parse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := auth.RedactURL(u); got != c.want {
			t.Errorf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
		}
		if u.String() != c.in && c.in[0] == '/' {
			t.Errorf("RedactURL changed its argument: %q", u)
		}
	}
	if got := auth.RedactURL(nil); got != "" {
		t.Errorf("RedactURL(nil) = %q", got)
	}
}
