package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
)

const (
	// authConfigPath tells the view how to get a token: {"mode":"dev"|"jwt"|"none"}.
	authConfigPath = "/auth/config"
	// devLoginPath hands out tokens to whoever asks, in mode dev only.
	devLoginPath = "/auth/dev-login"
	// maxDevLoginBody bounds a dev-login request body.
	maxDevLoginBody = 64 << 10
)

// authConfig answers the auth mode, in every mode, so that the view knows
// whether to log in through dev-login (dev), to use the access_token of its
// page URL (jwt), or neither (none).
func (g *Gateway) authConfig(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"mode": g.cfg.AuthMode})
}

// devLoginRequest is the body of POST /auth/dev-login.
type devLoginRequest struct {
	Subject string   `json:"subject"`
	Role    string   `json:"role"`
	Teams   []string `json:"teams"`
}

type devLoginResponse struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expiresAt"` // RFC 3339, UTC
}

// devLogin issues a token for the claims in the body, no questions asked:
// the local platform's login. It is routed only in mode dev.
func (g *Gateway) devLogin(c *gin.Context) {
	req, derr := decodeDevLogin(c.Writer, c.Request)
	if derr != nil {
		status := http.StatusBadRequest
		if derr.Code == tracking.CodeTooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(c.Writer, c.Request, status, derr.Code, tracking.ErrorMessage(derr), 0)
		return
	}
	tok, err := g.cfg.DevIssuer.Issue(auth.Claims{Subject: req.Subject, Role: auth.Role(req.Role), Teams: req.Teams})
	if err != nil {
		var te *tracking.Error
		if errors.As(err, &te) && te.Code == tracking.CodeBadRequest {
			// The issuer names the JWT claim; the client knows the body's field.
			writeError(c.Writer, c.Request, http.StatusBadRequest, tracking.CodeBadRequest, bodyField(te.Field)+": "+te.Message, 0)
			return
		}
		g.cfg.Logger.Error("dev-login: cannot issue a token", "err", err)
		writeError(c.Writer, c.Request, http.StatusInternalServerError, tracking.CodeInternal, "cannot issue a token", 0)
		return
	}
	// Verified as /tracking will verify it: this proves that DevIssuer and
	// Verifier share a secret, and gives the expiry exactly as signed.
	claims, err := g.cfg.Verifier.Verify(c.Request.Context(), tok)
	if err != nil {
		g.cfg.Logger.Error("dev-login: the gateway refuses the token it just issued (do Config.DevIssuer and Config.Verifier use the same secret?)", "err", err)
		writeError(c.Writer, c.Request, http.StatusInternalServerError, tracking.CodeInternal, "issued a token the gateway refuses", 0)
		return
	}
	g.cfg.Logger.Info("dev-login: token issued", "claims", claims)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, devLoginResponse{Token: tok, ExpiresAt: claims.Expires.UTC().Format(time.RFC3339)})
}

// decodeDevLogin reads one JSON object with only the known fields; the
// error names the field at fault.
func decodeDevLogin(w http.ResponseWriter, r *http.Request) (devLoginRequest, *tracking.Error) {
	var req devLoginRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxDevLoginBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, devLoginBodyError(err)
	}
	var tooLarge *http.MaxBytesError
	switch err := dec.Decode(&struct{}{}); {
	case err == io.EOF:
		return req, nil
	case errors.As(err, &tooLarge):
		return req, devLoginBodyError(err)
	default:
		return req, &tracking.Error{Code: tracking.CodeInvalidJSON, Field: "body", Message: "want one JSON object, found more after it"}
	}
}

const devLoginShape = `want {"subject":"w-1","role":"worker"|"manager"|"admin","teams":["team_one"]}`

func devLoginBodyError(err error) *tracking.Error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return &tracking.Error{Code: tracking.CodeTooLarge, Field: "body", Message: fmt.Sprintf("larger than %d bytes", tooLarge.Limit)}
	case errors.Is(err, io.EOF):
		return &tracking.Error{Code: tracking.CodeInvalidJSON, Field: "body", Message: "empty; " + devLoginShape}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &tracking.Error{Code: tracking.CodeInvalidJSON, Field: "body", Message: "truncated JSON; " + devLoginShape}
	case errors.As(err, &syntax):
		return &tracking.Error{Code: tracking.CodeInvalidJSON, Field: "body", Message: fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(err.Error(), "json: "))}
	case errors.As(err, &typ):
		if typ.Field == "" {
			return &tracking.Error{Code: tracking.CodeInvalidJSON, Field: "body", Message: "got a JSON " + typ.Value + "; " + devLoginShape}
		}
		want := "a string"
		switch {
		case typ.Field == "teams" && typ.Type.Kind() == reflect.Slice:
			want = "an array of team names"
		case typ.Field == "teams":
			want = "team names as strings"
		}
		return &tracking.Error{Code: tracking.CodeBadRequest, Field: typ.Field, Message: "want " + want + ", got a JSON " + typ.Value}
	}
	// DisallowUnknownFields has no error type of its own.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &tracking.Error{Code: tracking.CodeBadRequest, Field: strings.Trim(name, `"`), Message: "unknown field; " + devLoginShape}
	}
	return &tracking.Error{Code: tracking.CodeInvalidJSON, Field: "body", Message: strings.TrimPrefix(err.Error(), "json: ")}
}

// bodyField maps the JWT claim an Issuer error names to the dev-login field.
func bodyField(claim string) string {
	switch {
	case claim == "sub", strings.HasPrefix(claim, "worker_id"): // a worker's workerId is its subject
		return "subject"
	case claim == "":
		return "body"
	}
	return claim // role, teams, teams[i]
}
