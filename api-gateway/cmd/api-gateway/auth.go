package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/teamtrack/tracking-core/auth"
)

// newAuth builds what cfg.Auth.Mode needs: the token verifier (mode none's
// accepts anything) and, in mode dev, the issuer of POST /auth/dev-login. An
// error is a configuration the gateway must not start with; it names the
// variables to fix. In mode jwt with AUTH_JWKS_URL, the keys are fetched
// here, so an unreachable identity provider also stops the start.
func newAuth(ctx context.Context, cfg settings, log *slog.Logger) (auth.VerifyCloser, *auth.Issuer, error) {
	v, err := cfg.Auth.NewVerifier(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Auth.Mode != auth.ModeDev {
		return v, nil, nil
	}
	iss, err := auth.NewIssuer(cfg.Auth.Secret, auth.DefaultTokenTTL)
	if err != nil {
		_ = v.Close()
		return nil, nil, fmt.Errorf("AUTH_MODE=dev: %w", err)
	}
	return v, iss, nil
}

// logAuthMode tells at start how requests are authenticated, with a warning
// for the modes that must not run in production.
func logAuthMode(log *slog.Logger, cfg settings) {
	attrs := []any{"auth_mode", cfg.Auth.Mode}
	switch cfg.Auth.Mode {
	case auth.ModeNone:
		if len(cfg.Auth.Secret) > 0 || cfg.Auth.JWKSURL != "" || cfg.Auth.Issuer != "" || cfg.Auth.Audience != "" {
			attrs = append(attrs, "ignored", "AUTH_JWT_SECRET(_FILE), AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE are not used in mode none")
		}
		log.Warn("AUTH_MODE=none: requests under /tracking are not authenticated; whoever reaches the gateway can publish as any worker and watch any team."+
			" Set AUTH_MODE=jwt (the default once every client can get tokens)", attrs...)
	case auth.ModeDev:
		if cfg.Auth.Issuer != "" || cfg.Auth.Audience != "" {
			attrs = append(attrs, "ignored", "AUTH_ISSUER and AUTH_AUDIENCE are not checked in mode dev")
		}
		log.Warn("AUTH_MODE=dev: POST /auth/dev-login gives a token to whoever asks; for the local platform, never in production", attrs...)
	default:
		keys := "HS256 (AUTH_JWT_SECRET)"
		if u, err := url.Parse(cfg.Auth.JWKSURL); err == nil && cfg.Auth.JWKSURL != "" {
			keys = "JWKS " + auth.RedactURL(u) // no password of the URL's in the log
		}
		log.Info("authentication", append(attrs, "keys", keys,
			"issuer", cmp.Or(cfg.Auth.Issuer, "(not checked)"), "audience", cmp.Or(cfg.Auth.Audience, "(not checked)"))...)
	}
}
