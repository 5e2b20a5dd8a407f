package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/teamtrack/tracking-core/auth"
)

// newAuth builds what cfg.AuthMode needs: the token verifier (mode none's
// accepts anything) and, in mode dev, the issuer of POST /auth/dev-login. An
// error is a configuration the gateway must not start with; it names the
// variables to fix. In mode jwt with AUTH_JWKS_URL, the keys are fetched
// here, so an unreachable identity provider also stops the start.
func newAuth(ctx context.Context, cfg config, log *slog.Logger) (auth.VerifyCloser, *auth.Issuer, error) {
	if err := checkAuthConfig(cfg); err != nil {
		return nil, nil, err
	}
	secret := cfg.AuthSecret
	if cfg.AuthMode == auth.ModeNone {
		secret = nil // unused: not worth an error, named in the start-up warning
	}
	opts := auth.Options{Issuer: cfg.AuthIssuer, Audience: cfg.AuthAudience, Logger: log}
	v, err := auth.NewVerifier(ctx, cfg.AuthMode, secret, cfg.AuthJWKSURL, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("AUTH_MODE=%s: %w", cfg.AuthMode, err)
	}
	if cfg.AuthMode != auth.ModeDev {
		return v, nil, nil
	}
	iss, err := auth.NewIssuer(secret, auth.DefaultTokenTTL)
	if err != nil {
		_ = v.Close()
		return nil, nil, fmt.Errorf("AUTH_MODE=dev: %w", err)
	}
	return v, iss, nil
}

// checkAuthConfig reports, in the environment's terms, what NewVerifier
// would refuse for want of a variable.
func checkAuthConfig(cfg config) error {
	hasSecret, hasJWKS := len(cfg.AuthSecret) > 0, cfg.AuthJWKSURL != ""
	switch cfg.AuthMode {
	case auth.ModeJWT:
		switch {
		case !hasSecret && !hasJWKS:
			return errors.New("AUTH_MODE=jwt needs AUTH_JWKS_URL (the identity provider's RS256/ES256 keys) or AUTH_JWT_SECRET (an HS256 secret of at least 32 bytes); neither is set" +
				" (AUTH_MODE=none runs without authentication, AUTH_MODE=dev with the gateway's own login)")
		case hasSecret && hasJWKS:
			return errors.New("AUTH_MODE=jwt: AUTH_JWKS_URL and AUTH_JWT_SECRET are both set; set one")
		}
	case auth.ModeDev:
		switch {
		case hasJWKS:
			return errors.New("AUTH_MODE=dev verifies the gateway's own HS256 tokens, but AUTH_JWKS_URL is set: use AUTH_MODE=jwt for an identity provider")
		case !hasSecret:
			return errors.New("AUTH_MODE=dev needs AUTH_JWT_SECRET (at least 32 bytes, e.g. openssl rand -base64 48): POST /auth/dev-login signs with it and the tracking services verify with it")
		}
	case auth.ModeNone:
		return nil
	}
	if hasSecret && len(cfg.AuthSecret) < auth.MinSecretLen {
		return fmt.Errorf("AUTH_JWT_SECRET is %d bytes; it must be at least %d (e.g. openssl rand -base64 48)", len(cfg.AuthSecret), auth.MinSecretLen)
	}
	return nil
}

// logAuthMode tells at start how requests are authenticated, with a warning
// for the modes that must not run in production.
func logAuthMode(log *slog.Logger, cfg config) {
	switch cfg.AuthMode {
	case auth.ModeNone:
		attrs := []any{"auth_mode", cfg.AuthMode}
		if len(cfg.AuthSecret) > 0 || cfg.AuthJWKSURL != "" || cfg.AuthIssuer != "" || cfg.AuthAudience != "" {
			attrs = append(attrs, "ignored", "AUTH_JWT_SECRET, AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE are not used in mode none")
		}
		log.Warn("AUTH_MODE=none: requests under /tracking are not authenticated; whoever reaches the gateway can publish as any worker and watch any team."+
			" Set AUTH_MODE=jwt (the default once every client can get tokens)", attrs...)
	case auth.ModeDev:
		attrs := []any{"auth_mode", cfg.AuthMode}
		if cfg.AuthIssuer != "" || cfg.AuthAudience != "" {
			attrs = append(attrs, "ignored", "AUTH_ISSUER and AUTH_AUDIENCE are not checked in mode dev")
		}
		log.Warn("AUTH_MODE=dev: POST /auth/dev-login gives a token to whoever asks; for the local platform, never in production", attrs...)
	default:
		keys := "HS256 (AUTH_JWT_SECRET)"
		if u, err := url.Parse(cfg.AuthJWKSURL); err == nil && cfg.AuthJWKSURL != "" {
			keys = "JWKS " + auth.RedactURL(u) // no password of the URL's in the log
		}
		log.Info("authentication", "auth_mode", cfg.AuthMode, "keys", keys,
			"issuer", orUnchecked(cfg.AuthIssuer), "audience", orUnchecked(cfg.AuthAudience))
	}
}

func orUnchecked(s string) string {
	if s == "" {
		return "(not checked)"
	}
	return s
}
