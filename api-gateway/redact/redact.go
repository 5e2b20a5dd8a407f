package redact

import (
	"regexp"
	"strings"
)

// Placeholder replaces a redacted value.
const Placeholder = "REDACTED"

// tokenParam matches a token or access_token parameter (the name preceded by
// the start, ?, &, ; or a delimiter, so `mytoken=` is left alone) and its value.
var tokenParam = regexp.MustCompile(`(?i)(^|[?&;\s"'(<])((?:access_)?token)=[^&\s"';#)>]*`)

// String returns s with the value of every token and access_token query
// parameter replaced by Placeholder. It works on URLs, query strings and
// free text that embeds them (error messages).
func String(s string) string {
	if !strings.Contains(strings.ToLower(s), "token=") {
		return s
	}
	return tokenParam.ReplaceAllString(s, "${1}${2}="+Placeholder)
}
