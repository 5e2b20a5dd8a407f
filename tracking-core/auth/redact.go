package auth

import (
	"net/url"
	"strings"
)

// Redacted replaces the value of a token parameter in logged URLs.
const Redacted = "REDACTED"

// RedactQuery returns rawQuery with the value of every access_token and
// token parameter replaced by Redacted, and every other byte as it was.
// Parameter names match case-insensitively and after percent-decoding, as
// a server reads them (access%5Ftoken is access_token); both & and ; separate
// parameters.
func RedactQuery(rawQuery string) string {
	if !strings.Contains(rawQuery, "%") && !containsFold(rawQuery, "token") {
		return rawQuery
	}
	var b strings.Builder
	b.Grow(len(rawQuery))
	start := 0
	for i := 0; i <= len(rawQuery); i++ {
		if i < len(rawQuery) && rawQuery[i] != '&' && rawQuery[i] != ';' {
			continue
		}
		pair := rawQuery[start:i]
		if name, _, hasValue := strings.Cut(pair, "="); hasValue && isTokenParam(name) {
			pair = name + "=" + Redacted
		}
		b.WriteString(pair)
		if i < len(rawQuery) {
			b.WriteByte(rawQuery[i])
		}
		start = i + 1
	}
	return b.String()
}

// RedactURL returns u as a string for a log line: its query (and a
// query-like fragment, where OAuth's implicit flow puts access_token)
// passed through RedactQuery and its password, if any, replaced by "xxxxx"
// (url.URL.Redacted). A nil u gives "".
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.RawQuery = RedactQuery(u.RawQuery)
	c.Fragment, c.RawFragment = "", ""
	s := c.Redacted()
	if u.Fragment != "" || u.RawFragment != "" {
		s += "#" + RedactQuery(u.EscapedFragment())
	}
	return s
}

func isTokenParam(name string) bool {
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	return strings.EqualFold(name, TokenQueryParam) || strings.EqualFold(name, "token")
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
