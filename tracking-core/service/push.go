package service

import (
	"errors"
	"time"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/webpush"
	"github.com/teamtrack/tracking-core/config"
)

// PushSettings configure Web Push (PUSH_*); it is on wherever alerts are
// (HISTORY_DSN).
type PushSettings struct {
	// Keys are PUSH_VAPID_PUBLIC_KEY and PUSH_VAPID_PRIVATE_KEY, checked
	// and in unpadded base64url; zero when both are unset: a pair is then
	// generated once and kept in the HISTORY_DSN database, shared by every
	// replica on it (webpush.StoredKeys).
	Keys    alerting.VAPIDKeys
	Subject string        // PUSH_VAPID_SUBJECT
	TTL     time.Duration // PUSH_TTL
}

func readPush(e *config.Env) PushSettings {
	s := PushSettings{
		Keys: alerting.VAPIDKeys{
			Public:  e.String("PUSH_VAPID_PUBLIC_KEY", ""),
			Private: e.Secret("PUSH_VAPID_PRIVATE_KEY"),
		},
		Subject: e.String("PUSH_VAPID_SUBJECT", webpush.DefaultSubject),
		TTL:     e.Duration("PUSH_TTL", webpush.DefaultTTL),
	}
	switch {
	case s.Keys.IsZero():
	case s.Keys.Public == "":
		e.Failf("PUSH_VAPID_PUBLIC_KEY", "is required with PUSH_VAPID_PRIVATE_KEY (set both, or neither to use a pair generated and kept in the HISTORY_DSN database)")
	case s.Keys.Private == "":
		e.Failf("PUSH_VAPID_PRIVATE_KEY", "is required with PUSH_VAPID_PUBLIC_KEY (set both, or neither to use a pair generated and kept in the HISTORY_DSN database)")
	default:
		k, err := webpush.CheckKeys(s.Keys)
		var ke *webpush.KeyError
		switch {
		case errors.As(err, &ke) && ke.Key == "private":
			e.Failf("PUSH_VAPID_PRIVATE_KEY", "%s", ke.Reason) // never the value
		case errors.As(err, &ke):
			e.Failf("PUSH_VAPID_PUBLIC_KEY", "%s", ke.Reason)
		}
		s.Keys = k
	}
	if err := webpush.CheckSubject(s.Subject); err != nil {
		e.Fail("PUSH_VAPID_SUBJECT", "a mailto: address (mailto:ops@example.com) or an https: URL")
	}
	if s.TTL < time.Second {
		e.Fail("PUSH_TTL", "a duration of at least 1s, such as 24h")
	}
	return s
}
