package redact

import (
	"regexp"
	"strings"

	"github.com/teamtrack/tracking-core/auth"
)

// Placeholder replaces a redacted value: the shared auth.Redacted.
const Placeholder = auth.Redacted

// tokenParam matches a bare token or access_token parameter in free text
// (the name preceded by the start, a space, a quote or another delimiter, so
// `mytoken=` is left alone) and its value.
var tokenParam = regexp.MustCompile(`(?i)(^|[?&;#\s"'(<])((?:access_)?token)=[^&\s"';#)>]*`)

// String returns s with the value of every token and access_token parameter
// replaced by Placeholder. It works on URLs, query strings and free text
// that embeds them (error messages). Each query (and query-like fragment)
// embedded in s goes through auth.RedactQuery, as the access log's URLs do,
// so percent-encoded names (access%5Ftoken=) are caught; bare `token=`
// parameters elsewhere in the text are caught too.
func String(s string) string {
	if !strings.Contains(s, "%") && !containsFold(s, "token") {
		return s
	}
	s = redactEmbeddedQueries(s)
	if !containsFold(s, "token=") {
		return s
	}
	return tokenParam.ReplaceAllString(s, "${1}${2}="+Placeholder)
}

// endOfQuery are the bytes that end a query embedded in text: those that
// cannot be in a URL, plus the fragment mark and the closing bracket.
const endOfQuery = " \t\r\n\"'<>`)#"

// redactEmbeddedQueries passes the text after each ? or #, up to the end of
// the URL it belongs to, through auth.RedactQuery.
func redactEmbeddedQueries(s string) string {
	i := strings.IndexAny(s, "?#")
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i >= 0 {
		b.WriteString(s[:i+1])
		s = s[i+1:]
		end := strings.IndexAny(s, endOfQuery)
		if end < 0 {
			end = len(s)
		}
		b.WriteString(auth.RedactQuery(s[:end]))
		s = s[end:]
		i = strings.IndexAny(s, "?#")
	}
	b.WriteString(s)
	return b.String()
}

// containsFold reports whether s contains the lower-case ASCII sub in any
// case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
