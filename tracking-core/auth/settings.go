package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/teamtrack/tracking-core/config"
)

// DefaultMode is AUTH_MODE when unset, for the gateway and the tracking
// services: production needs tokens, and a service without a key refuses to
// start. The local platform and compose set dev.
const DefaultMode = ModeJWT

// Settings are the AUTH_* variables, read once by ReadSettings in every
// binary that checks tokens, and turned into a verifier by NewVerifier.
type Settings struct {
	// Mode is AUTH_MODE. Default: the one given to ReadSettings.
	Mode Mode
	// Secret is AUTH_JWT_SECRET byte for byte, or the content of the file
	// AUTH_JWT_SECRET_FILE names. Default: none.
	Secret []byte
	// SecretVar names where Secret came from, for errors.
	SecretVar string
	// JWKSURL is AUTH_JWKS_URL. Default: none.
	JWKSURL string
	// Issuer and Audience are AUTH_ISSUER and AUTH_AUDIENCE, the iss and aud
	// tokens must carry in mode jwt. Default: not checked.
	Issuer, Audience string
}

// ReadSettings reads the AUTH_* variables; AUTH_MODE defaults to def.
func ReadSettings(e *config.Env, def Mode) Settings {
	s := Settings{Mode: ReadMode(e, def)}
	s.Secret, s.SecretVar = ReadSecret(e)
	s.JWKSURL = e.String("AUTH_JWKS_URL", "")
	s.Issuer = e.String("AUTH_ISSUER", "")
	s.Audience = e.String("AUTH_AUDIENCE", "")
	return s
}

// ReadMode reads AUTH_MODE (jwt, dev or none, any case); def when unset.
func ReadMode(e *config.Env, def Mode) Mode {
	return config.Func(e, "AUTH_MODE", def, string(def), "jwt, dev or none", ParseMode)
}

// ReadSecret reads the HS256 secret: AUTH_JWT_SECRET byte for byte, or the
// content of the file AUTH_JWT_SECRET_FILE names (without its final
// newline), which must hold at least MinSecretLen bytes. Both set is an
// error. from is the variable it came from.
func ReadSecret(e *config.Env) (secret []byte, from string) {
	env := e.Secret("AUTH_JWT_SECRET")
	file := e.String("AUTH_JWT_SECRET_FILE", "")
	switch {
	case file == "" && env == "":
		return nil, ""
	case file == "":
		return []byte(env), "AUTH_JWT_SECRET"
	case env != "":
		e.Failf("AUTH_JWT_SECRET_FILE", "AUTH_JWT_SECRET is set too; set one of them")
		return nil, ""
	}
	b, err := os.ReadFile(file)
	if err != nil {
		e.Failf("AUTH_JWT_SECRET_FILE", "%v", err)
		return nil, ""
	}
	b = bytes.TrimRight(b, "\r\n") // a file written with echo ends with a newline
	if len(b) < MinSecretLen {
		e.Failf("AUTH_JWT_SECRET_FILE", "%s holds %d bytes; want at least %d (e.g. openssl rand -base64 48)", file, len(b), MinSecretLen)
		return nil, ""
	}
	return b, "AUTH_JWT_SECRET_FILE"
}

// Check reports, in the environment's terms, what NewVerifier would refuse
// for want of a variable.
func (s Settings) Check() error {
	hasSecret, hasJWKS := len(s.Secret) > 0, s.JWKSURL != ""
	secretVar := s.SecretVar
	if secretVar == "" {
		secretVar = "AUTH_JWT_SECRET"
	}
	switch s.Mode {
	case ModeJWT:
		switch {
		case !hasSecret && !hasJWKS:
			return errors.New("AUTH_MODE=jwt needs AUTH_JWKS_URL (the identity provider's RS256/ES256 keys) or AUTH_JWT_SECRET / AUTH_JWT_SECRET_FILE (an HS256 secret of at least 32 bytes); neither is set" +
				" (AUTH_MODE=none runs without authentication, AUTH_MODE=dev with the gateway's own login)")
		case hasSecret && hasJWKS:
			return fmt.Errorf("AUTH_MODE=jwt: AUTH_JWKS_URL and %s are both set; set one", secretVar)
		}
	case ModeDev:
		switch {
		case hasJWKS:
			return errors.New("AUTH_MODE=dev verifies the gateway's own HS256 tokens, but AUTH_JWKS_URL is set: use AUTH_MODE=jwt for an identity provider")
		case !hasSecret:
			return errors.New("AUTH_MODE=dev needs AUTH_JWT_SECRET or AUTH_JWT_SECRET_FILE (at least 32 bytes, e.g. openssl rand -base64 48): the gateway's POST /auth/dev-login signs with it and the tracking services verify with it")
		}
	case ModeNone:
		return nil
	}
	if hasSecret && len(s.Secret) < MinSecretLen {
		return fmt.Errorf("%s is %d bytes; it must be at least %d (e.g. openssl rand -base64 48)", secretVar, len(s.Secret), MinSecretLen)
	}
	return nil
}

// NewVerifier checks s and builds its verifier (see the package function);
// in mode jwt with a JWKS URL it fetches the keys, so that an unreachable
// identity provider stops the start, and warns once, on log, when
// AUTH_ISSUER or AUTH_AUDIENCE is unset.
func (s Settings) NewVerifier(ctx context.Context, log *slog.Logger) (VerifyCloser, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	secret := s.Secret
	if s.Mode == ModeNone {
		secret = nil // unused; callers name it in their start-up warning
	}
	if s.Mode == ModeJWT && s.JWKSURL != "" && (s.Issuer == "" || s.Audience == "") {
		log.Warn("AUTH_JWKS_URL without AUTH_ISSUER and AUTH_AUDIENCE: tokens the identity provider signs for any other application or issuer are accepted here. Set both",
			"issuer", orUnchecked(s.Issuer), "audience", orUnchecked(s.Audience))
	}
	v, err := NewVerifier(ctx, s.Mode, secret, s.JWKSURL, Options{Issuer: s.Issuer, Audience: s.Audience, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("AUTH_MODE=%s: %w", s.Mode, err)
	}
	return v, nil
}

func orUnchecked(s string) string {
	if s == "" {
		return "(not checked)"
	}
	return s
}
