package devices_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/devices"
)

func asError(err error, te **tracking.Error) bool { return errors.As(err, te) }

func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var te *tracking.Error
	if !asError(err, &te) || te.Code != tracking.CodeInvalidField || te.Field != field {
		t.Fatalf("%s: %v, want invalid_field naming %q", what, err, field)
	}
}

func TestValidID(t *testing.T) {
	for _, ok := range []string{"123456", "phone-7", "ana/pixel8", "a", "user@example.com/phone", "x:y_z.1", strings.Repeat("9", 128)} {
		if err := devices.ValidID(ok); err != nil {
			t.Errorf("ValidID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", " ", "a b", "a\x00", "ü", "a?b", "a%2F", "a#b", strings.Repeat("9", 129)} {
		wantField(t, "ValidID("+bad+")", devices.ValidID(bad), "id")
	}
	if got := devices.OwnTracksID("ana", "pixel8"); got != "ana/pixel8" || devices.ValidID(got) != nil {
		t.Fatalf("OwnTracksID = %q", got)
	}
}

func TestPrepare(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.FixedZone("X", -7200))
	d, err := devices.Prepare(devices.Device{ID: "p", Team: "t", Worker: "w", SecretHash: []byte{},
		CreatedAt: at.Add(-time.Hour), UpdatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 5, 1, 14, 0, 0, 123456000, time.UTC)
	if d.UpdatedAt != want || d.CreatedAt != want || d.SecretHash != nil {
		t.Fatalf("Prepare: %+v", d)
	}
}

func TestValidateList(t *testing.T) {
	if err := devices.ValidateList("", "", devices.MaxLimit); err != nil {
		t.Fatal(err)
	}
	if err := devices.ValidateList("team_one", "ana/pixel8", 1); err != nil {
		t.Fatal(err)
	}
	wantField(t, "team", devices.ValidateList("a b", "", 1), "team")
	wantField(t, "after", devices.ValidateList("", "a b", 1), "after")
	wantField(t, "limit", devices.ValidateList("", "", 0), "limit")
}

func TestNotFoundSaysWhatToDo(t *testing.T) {
	err := devices.NotFound("phone-7")
	if tracking.ErrorCode(err) != tracking.CodeNotFound || !strings.Contains(tracking.ErrorMessage(err), "device phone-7 is not registered") {
		t.Fatalf("NotFound: %v", err)
	}
}
