package devices_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/devices"
)

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := devices.NewSecret()
		if len(s) < 24 {
			t.Fatalf("secret %q is short", s)
		}
		if b, err := base64.RawURLEncoding.DecodeString(s); err != nil || len(b) < 16 {
			t.Fatalf("secret %q is not base64url of 16+ bytes: %v", s, err)
		}
		if err := devices.ValidateSecret(s); err != nil {
			t.Fatalf("NewSecret's %q does not validate: %v", s, err)
		}
		if seen[s] {
			t.Fatalf("secret %q twice", s)
		}
		seen[s] = true
	}
}

func TestHashAndCheckSecret(t *testing.T) {
	secret := devices.NewSecret()
	h1, h2 := devices.HashSecret(secret), devices.HashSecret(secret)
	if bytes.Equal(h1, h2) {
		t.Fatal("two hashes of one secret are equal: no salt")
	}
	if bytes.Contains(h1, []byte(secret)) {
		t.Fatal("the hash contains the secret")
	}
	for _, h := range [][]byte{h1, h2} {
		if !devices.CheckSecret(h, secret) {
			t.Fatal("CheckSecret refuses the secret")
		}
	}
	for _, wrong := range []string{"", secret[1:], secret + "x", strings.ToUpper(secret), devices.NewSecret()} {
		if devices.CheckSecret(h1, wrong) {
			t.Fatalf("CheckSecret accepts %q", wrong)
		}
	}
	tampered := bytes.Clone(h1)
	tampered[len(tampered)-1] ^= 1
	for name, h := range map[string][]byte{"nil": nil, "empty": {}, "tampered": tampered, "short": h1[:len(h1)-1],
		"long": append(bytes.Clone(h1), 0), "another version": append([]byte{2}, h1[1:]...)} {
		if devices.CheckSecret(h, secret) {
			t.Fatalf("CheckSecret accepts a %s hash", name)
		}
	}
	// An admin's secret of any allowed content works the same.
	admin := "correct horse battery staple ✓"
	if !devices.CheckSecret(devices.HashSecret(admin), admin) {
		t.Fatal("CheckSecret refuses an admin's secret")
	}
}

func TestValidateSecret(t *testing.T) {
	for _, ok := range []string{strings.Repeat("x", 16), strings.Repeat("x", 200), "with spaces and ünïcode!"} {
		if err := devices.ValidateSecret(ok); err != nil {
			t.Errorf("ValidateSecret(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", 15), strings.Repeat("x", 201), "sixteen bytes\x00..", "line\nbreak in a secret", "bad utf-8 \xff\xfe here"} {
		err := devices.ValidateSecret(bad)
		var te *tracking.Error
		if !asError(err, &te) || te.Code != tracking.CodeInvalidField || te.Field != "secret" {
			t.Errorf("ValidateSecret(%q): %v, want invalid_field secret", bad, err)
			continue
		}
		if len(bad) > 0 && strings.Contains(err.Error(), bad) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}

func TestSecretHashIsNotSerialised(t *testing.T) {
	d := devices.Device{ID: "phone-1", Team: "team_one", Worker: "w-1", SecretHash: devices.HashSecret("a secret of some length"),
		UpdatedAt: time.Now()}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "Secret") || strings.Contains(string(b), base64.StdEncoding.EncodeToString(d.SecretHash)) {
		t.Fatalf("JSON of a device shows its hash: %s", b)
	}
}

func BenchmarkCheckSecret(b *testing.B) {
	secret := devices.NewSecret()
	h := devices.HashSecret(secret)
	for b.Loop() {
		if !devices.CheckSecret(h, secret) {
			b.Fatal("refused")
		}
	}
}
