package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Mode is how a service authenticates (AUTH_MODE).
type Mode string

const (
	ModeJWT  Mode = "jwt"  // production: JWKS or HS256 tokens
	ModeDev  Mode = "dev"  // HS256 tokens from the gateway's local login endpoint
	ModeNone Mode = "none" // no authentication, for legacy clients; log a warning
)

// ParseMode reads a mode name, case-insensitively: "jwt", "dev" or "none";
// empty means ModeJWT.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return ModeJWT, nil
	case ModeJWT, ModeDev, ModeNone:
		return m, nil
	default:
		return "", fmt.Errorf("auth: unknown mode %q (want jwt, dev or none)", s)
	}
}

// NewVerifier builds the verifier mode needs:
//
//   - ModeJWT: NewJWKS(ctx, jwksURL, opts) when jwksURL is set, else
//     NewHS256(secret, opts). Neither, or both, is an error.
//   - ModeDev: NewHS256(secret, opts) with Options.Issuer and Audience
//     cleared, so that it accepts exactly what an Issuer with the same
//     secret signs. jwksURL must be empty.
//   - ModeNone: a verifier that ignores the token, whatever it is, and
//     returns AnonymousClaims.
//
// The caller closes the result when it stops (only the JWKS verifier holds
// anything).
func NewVerifier(ctx context.Context, mode Mode, secret []byte, jwksURL string, opts Options) (VerifyCloser, error) {
	switch mode {
	case ModeJWT:
		switch {
		case jwksURL != "" && len(secret) > 0:
			return nil, errors.New("auth mode jwt: both a JWKS URL and an HS256 secret are set; set one")
		case jwksURL != "":
			return nilIfErr(NewJWKS(ctx, jwksURL, opts))
		case len(secret) > 0:
			return nilIfErr(newHS256(secret, opts))
		default:
			return nil, errors.New("auth mode jwt: needs a JWKS URL (RS256/ES256 keys of an identity provider) or an HS256 secret; neither is set")
		}
	case ModeDev:
		if jwksURL != "" {
			return nil, errors.New("auth mode dev: verifies the gateway's own HS256 tokens; a JWKS URL is set, use mode jwt for it")
		}
		if len(secret) == 0 {
			return nil, errors.New("auth mode dev: needs the HS256 secret the gateway's login endpoint signs with; none is set")
		}
		opts.Issuer, opts.Audience = "", ""
		return nilIfErr(newHS256(secret, opts))
	case ModeNone:
		return anonymous{}, nil
	default:
		return nil, fmt.Errorf("auth: unknown mode %q (want jwt, dev or none)", mode)
	}
}

// nilIfErr keeps a nil pointer out of the interface returned with an error.
func nilIfErr[V VerifyCloser](v V, err error) (VerifyCloser, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// AnonymousClaims returns the claims mode none grants: admin-equivalent,
// with Anonymous set and no expiry.
func AnonymousClaims() *Claims {
	return &Claims{Subject: "anonymous", Role: RoleAdmin, Anonymous: true}
}

// anonymous is the verifier of mode none.
type anonymous struct{}

var _ VerifyCloser = anonymous{}

func (anonymous) Verify(context.Context, string) (*Claims, error) { return AnonymousClaims(), nil }
func (anonymous) Close() error                                    { return nil }
