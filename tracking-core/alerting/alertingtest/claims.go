package alertingtest

import (
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

// claims: a claim is exclusive until it runs out or is released, renewed
// by its holder, and taken by one of several claimants at once.
func claims(t *testing.T, st alerting.Store) {
	c := ctx(t)
	claim := func(name, holder string, now time.Time, d time.Duration) bool {
		t.Helper()
		ok, err := st.Claim(c, name, holder, now, now.Add(d))
		if err != nil {
			t.Fatalf("Claim(%s, %s): %v", name, holder, err)
		}
		return ok
	}
	if !claim("proximity/a", "r1", base, 10*time.Second) {
		t.Fatal("a free claim was not taken")
	}
	if claim("proximity/a", "r2", base.Add(5*time.Second), 10*time.Second) {
		t.Fatal("r2 took a claim r1 holds until base+10s")
	}
	if !claim("proximity/b", "r2", base, 10*time.Second) {
		t.Fatal("a claim of another name was refused")
	}
	if !claim("proximity/a", "r1", base.Add(8*time.Second), 10*time.Second) {
		t.Fatal("the holder could not renew its claim")
	}
	if claim("proximity/a", "r2", base.Add(12*time.Second), 10*time.Second) {
		t.Fatal("r2 took r1's renewed claim (until base+18s) at base+12s")
	}
	if !claim("proximity/a", "r2", base.Add(18*time.Second), 10*time.Second) {
		t.Fatal("r2 could not take a claim that ran out")
	}
	if claim("proximity/a", "r1", base.Add(19*time.Second), 10*time.Second) {
		t.Fatal("r1 still renews a claim it lost")
	}

	// Release: only by the holder.
	if err := st.Release(c, "proximity/a", "r1"); err != nil {
		t.Fatal(err)
	}
	if claim("proximity/a", "r3", base.Add(20*time.Second), 10*time.Second) {
		t.Fatal("a release by a non-holder freed the claim")
	}
	if err := st.Release(c, "proximity/a", "r2"); err != nil {
		t.Fatal(err)
	}
	if !claim("proximity/a", "r3", base.Add(20*time.Second), 10*time.Second) {
		t.Fatal("a released claim could not be taken")
	}

	// Several claimants at once, as replicas starting together: one wins.
	var mu sync.Mutex
	var winners []string
	var wg sync.WaitGroup
	for _, h := range []string{"h1", "h2", "h3", "h4", "h5", "h6"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := st.Claim(c, "proximity/race", h, base, base.Add(time.Minute))
			if err != nil {
				t.Errorf("Claim by %s: %v", h, err)
				return
			}
			if ok {
				mu.Lock()
				winners = append(winners, h)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("concurrent claims: winners %v, want exactly one", winners)
	}

	// Bad arguments name the field.
	_, err := st.Claim(c, "", "h", base, base.Add(time.Second))
	wantCode(t, "empty name", err, tracking.CodeInvalidField, "name")
	_, err = st.Claim(c, "n", "", base, base.Add(time.Second))
	wantCode(t, "empty holder", err, tracking.CodeInvalidField, "holder")
	_, err = st.Claim(c, "n", "h", base, base)
	wantCode(t, "until not after now", err, tracking.CodeInvalidField, "until")
}
