package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/devices"
	"github.com/teamtrack/tracking-core/phones"
	"github.com/teamtrack/tracking-core/wire"
)

// Phone apps as workers (issue 15): Traccar Client (the OsmAnd protocol)
// and OwnTracks (HTTP mode). A phone proves who it is with its device's
// secret (devices.Store, registered by an admin) or a worker token; its
// fixes become canonical records published like any worker's, through the
// same ingest (validation, presence, geofences, history). A phone posts:
// its sessions end by silence, as a POST body's do.

// maxPhoneBody bounds a phone's request body: a Traccar Client batch of a
// few hundred buffered fixes, an OwnTracks message.
const maxPhoneBody = 1 << 20

// maxTeammates bounds the teammates an OwnTracks answer shows.
const maxTeammates = 200

// phoneAuth is what turns a phone's credentials into a worker: the
// device registry behind a cache, and the metrics of refusals.
type phoneAuth struct {
	cache    *devices.Cache // nil without a registry
	requests *prometheus.CounterVec
}

func newPhoneAuth(store devices.Store, reg prometheus.Registerer) *phoneAuth {
	p := &phoneAuth{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tracking_phone_requests_total",
		Help: "Requests of phone apps (osmand, owntracks), by result: accepted, or why not (unknown_device, bad_secret, a record error code...).",
	}, []string{"protocol", "result"})}
	if reg != nil {
		reg.MustRegister(p.requests)
	}
	if store != nil {
		p.cache = devices.NewCache(store, devices.CacheConfig{Registerer: reg})
	}
	return p
}

// Invalidate drops a device from this replica's cache (after a change).
func (p *phoneAuth) Invalidate(id string) {
	if p != nil && p.cache != nil {
		p.cache.Invalidate(id)
	}
}

// errPhoneRefused marks the refusals counted by reason.
type phoneRefusal struct {
	reason string
	err    error
}

func (r *phoneRefusal) Error() string { return r.err.Error() }
func (r *phoneRefusal) Unwrap() error { return r.err }

func refuseDevice(reason, format string, args ...any) error {
	return &phoneRefusal{reason: reason, err: tracking.Errorf(tracking.CodeUnauthorized, format, args...)}
}

// phoneWorker returns the claims a phone publishes with: a worker token's
// (AUTH_MODE jwt or dev, one team), or those of the registered device
// whose secret the request carries (HTTP basic auth password, or the key
// parameter of the URL, for apps whose only setting is a URL: the OsmAnd
// protocol has no password field).
func (a *API) phoneWorker(r *http.Request, device, secret string) (*auth.Claims, error) {
	if tok, err := auth.TokenFromRequest(r); err == nil && tok != "" && a.cfg.Verifier != nil {
		c, err := a.cfg.Verifier.Verify(r.Context(), tok)
		if err != nil {
			return nil, err
		}
		if c.Role != auth.RoleWorker || len(c.Teams) != 1 {
			return nil, tracking.Errorf(tracking.CodeForbidden,
				"a phone's token must be a worker token of one team (a device secret works too)")
		}
		return c, nil
	}
	if a.phones.cache == nil {
		return nil, tracking.Errorf(tracking.CodeNotImplemented,
			"phones need the device registry, which is not configured on this service (HISTORY_DSN is unset)")
	}
	if device == "" {
		return nil, refuseDevice("unknown_device", "no device id")
	}
	d, err := a.phones.cache.Lookup(r.Context(), device)
	if err != nil {
		if tracking.ErrorCode(err) == tracking.CodeNotFound {
			return nil, refuseDevice("unknown_device", "device %s is not registered: an admin registers it with POST /devices", clipParam(device))
		}
		if te := (*tracking.Error)(nil); errors.As(err, &te) {
			return nil, refuseDevice("unknown_device", "%s", te.Message)
		}
		return nil, &tracking.Error{Code: tracking.CodeUnavailable, Message: "the device registry is unavailable, retry later", Err: err}
	}
	if secret == "" {
		return nil, refuseDevice("bad_secret", "device %s: no secret (the password of HTTP basic auth, or key= in the URL)", clipParam(device))
	}
	if !devices.CheckSecret(d.SecretHash, secret) {
		return nil, refuseDevice("bad_secret", "device %s: wrong secret", clipParam(device))
	}
	return &auth.Claims{Subject: "device:" + d.ID, Role: auth.RoleWorker, Teams: []string{d.Team}, WorkerID: d.Worker}, nil
}

// phoneSecret is the secret a request carries: the HTTP basic auth
// password, else the key parameter.
func phoneSecret(r *http.Request) string {
	if _, pw, ok := r.BasicAuth(); ok {
		return pw
	}
	return r.URL.Query().Get("key")
}

// publishFixes publishes the fixes of one phone as claims' worker, in
// order, each with the id the protocol gave it or one derived from source.
// The first refused fix is returned: the phone sends it again (Traccar
// Client holds its queue until the server takes it), and the fixes before
// it are not published twice (same id, same time: history keeps one, a
// manager's stream skips what is not newer).
func (a *API) publishFixes(ctx context.Context, in *ingestor, claims *auth.Claims, source, device string, fixes []phones.Fix) error {
	buf := make([]byte, 0, 256)
	for _, f := range fixes {
		p := f.Position(claims.Teams[0], claims.WorkerID)
		if p.ID == "" {
			p.ID = phones.FixID(source, device, f.Time)
		}
		buf = wire.AppendPosition(buf[:0], &p)
		if _, err := in.accept(ctx, buf); err != nil {
			return err
		}
	}
	return nil
}

// answerPhone answers a phone's failed request and counts it.
func (a *API) answerPhone(w http.ResponseWriter, protocol string, err error) {
	reason := string(tracking.ErrorCode(err))
	if pr := (*phoneRefusal)(nil); errors.As(err, &pr) {
		reason = pr.reason
		a.log.Info("phone refused", "protocol", protocol, "reason", pr.reason, "err", pr.err)
	}
	a.phones.requests.WithLabelValues(protocol, reason).Inc()
	writeError(w, err)
}

// handleOsmAnd serves the OsmAnd protocol (GET or POST /osmand, and any
// path of OSMAND_ADDR): the query form (id, lat, lon, timestamp, speed in
// knots...) in the URL or a form body, or Traccar Client's JSON body.
// 200 with an empty body when the fixes are published, 400 naming the
// field, 401 for an unknown device or a wrong secret.
func (a *API) handleOsmAnd(w http.ResponseWriter, r *http.Request) {
	const protocol = "osmand"
	now := time.Now()
	var fixes []phones.Fix
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); r.Method == http.MethodPost && ct == "application/json" {
		var body []byte
		if body, err = readPhoneBody(w, r); err == nil {
			fixes, err = phones.ParseOsmAndJSON(body, now)
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxPhoneBody)
		if err = r.ParseForm(); err != nil {
			err = tracking.Errorf(tracking.CodeBadRequest, "the query or form body could not be read")
		} else {
			var f phones.Fix
			f, err = phones.ParseOsmAndQuery(r.Form, now)
			fixes = []phones.Fix{f}
		}
	}
	if err == nil && len(fixes) == 0 {
		err = &tracking.Error{Code: tracking.CodeInvalidField, Field: "location", Message: "no fix in the request"}
	}
	if err != nil {
		a.answerPhone(w, protocol, err)
		return
	}
	device := fixes[0].Device
	for _, f := range fixes[1:] {
		if f.Device != device {
			a.answerPhone(w, protocol, &tracking.Error{Code: tracking.CodeInvalidField, Field: "device_id",
				Message: "a request's fixes are of one device"})
			return
		}
	}
	claims, err := a.phoneWorker(r, device, phoneSecret(r))
	if err != nil {
		a.answerPhone(w, protocol, err)
		return
	}
	in := a.ingestor(protocol, claims)
	defer in.end()
	if err := a.publishFixes(r.Context(), in, claims, phones.OsmAndSource, device, fixes); err != nil {
		a.answerPhone(w, protocol, err)
		return
	}
	a.phones.requests.WithLabelValues(protocol, "accepted").Inc()
	w.WriteHeader(http.StatusOK)
}

// OsmAnd is the OsmAnd protocol alone, on any path: what OSMAND_ADDR
// serves, since Traccar Client users type only a host and port.
func (a *API) OsmAnd() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			writeError(w, tracking.Errorf(tracking.CodeNotFound, "the OsmAnd protocol is GET or POST, not %s", r.Method))
			return
		}
		a.handleOsmAnd(w, r)
	})
}

// readPhoneBody reads a phone's body, at most maxPhoneBody bytes.
func readPhoneBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPhoneBody))
	if err != nil {
		if mb := (*http.MaxBytesError)(nil); errors.As(err, &mb) {
			return nil, tracking.Errorf(tracking.CodeTooLarge, "the body exceeds %d bytes", maxPhoneBody)
		}
		return nil, tracking.Errorf(tracking.CodeBadRequest, "the body could not be read")
	}
	return body, nil
}

// handleOwnTracks serves OwnTracks' HTTP mode (POST /owntracks): the
// device is the basic auth user and its X-Limit-D device header
// ("user/device"), the password its secret (or a worker token). A location
// is published; other types are accepted and ignored. The answer is a JSON
// array of the team's other workers' last positions (a card and a location
// each, tid their workerId), so that the app shows its teammates.
func (a *API) handleOwnTracks(w http.ResponseWriter, r *http.Request) {
	const protocol = "owntracks"
	now := time.Now()
	body, err := readPhoneBody(w, r)
	var msg phones.Message
	if err == nil {
		msg, err = phones.ParseOwnTracks(body, now)
	}
	if err != nil {
		a.answerPhone(w, protocol, err)
		return
	}
	device := ownTracksDevice(r)
	claims, err := a.phoneWorker(r, device, phoneSecret(r))
	if err != nil {
		a.answerPhone(w, protocol, err)
		return
	}
	if msg.Fix != nil {
		in := a.ingestor(protocol, claims)
		err = a.publishFixes(r.Context(), in, claims, phones.OwnTracksSource, strings.ReplaceAll(cmpOr(device, claims.WorkerID), "/", "-"), []phones.Fix{*msg.Fix})
		in.end()
		if err != nil {
			a.answerPhone(w, protocol, err)
			return
		}
	}
	a.phones.requests.WithLabelValues(protocol, "accepted").Inc()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(a.teammates(r.Context(), claims))
}

// ownTracksDevice is the registry id of an OwnTracks request: the basic
// auth user, and the device (X-Limit-D, which the app sends) after a '/'.
func ownTracksDevice(r *http.Request) string {
	user, _, ok := r.BasicAuth()
	if !ok {
		user = r.Header.Get("X-Limit-U")
	}
	if user == "" {
		return ""
	}
	if d := r.Header.Get("X-Limit-D"); d != "" {
		return devices.OwnTracksID(user, d)
	}
	return user
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// teammates is the OwnTracks answer: the last positions of the team's other
// workers ("[]" when the broker cannot say: the phone's fix is in).
func (a *API) teammates(ctx context.Context, c *auth.Claims) []byte {
	last, err := a.b.Last(ctx, c.Teams[0])
	if err != nil {
		a.log.Warn("owntracks: teammates unavailable", "team", c.Teams[0], "err", err)
		return []byte("[]")
	}
	cards := make([]phones.OwnTracksCard, 0, min(len(last), maxTeammates))
	for _, m := range last {
		if m.Kind != tracking.KindPosition || m.Worker == c.WorkerID || len(cards) == maxTeammates {
			continue
		}
		p, err := wire.DecodePosition(m.JSON, time.Now())
		if err != nil {
			continue
		}
		cards = append(cards, phones.OwnTracksCard{TrackerID: p.WorkerID, Name: p.WorkerID,
			Latitude: p.Location.Latitude, Longitude: p.Location.Longitude, Time: p.TimeStamp,
			Speed: p.Speed, Heading: p.Heading, Accuracy: p.Accuracy, Battery: p.Battery})
	}
	return phones.AppendOwnTracksResponse(nil, cards)
}
