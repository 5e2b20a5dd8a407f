package webhook

import (
	"net"
	"net/url"

	"github.com/teamtrack/tracking-core/alerting"
)

// CheckURL is the policy for endpoint URLs (WEBHOOK_ALLOW_HTTP): an
// absolute http or https URL; plain http only to a loopback host (localhost,
// 127.0.0.0/8, ::1) unless allowHTTP, because whoever is on the path of a
// plain http request reads the team's positions in it. The same rule as
// AUTH_JWKS_URL's. The error is an invalid_field error naming url.
func CheckURL(raw string, allowHTTP bool) error {
	w := alerting.Webhook{Team: "t", ID: "x", URL: raw}
	if err := w.Validate(); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if u.Scheme == "http" && !allowHTTP && !isLoopback(u.Hostname()) {
		return alerting.FieldError("url", "must be https: plain http is allowed only to a loopback host (or with WEBHOOK_ALLOW_HTTP=true), got %s://%s", u.Scheme, u.Host)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
