package alerting

import "time"

// MaxClaimName is the longest claim name or holder, in bytes.
const MaxClaimName = 200

// ValidClaim checks the arguments of Store.Claim (Release: until is zero
// and not checked), naming the bad one.
func ValidClaim(name, holder string, now, until time.Time, release bool) error {
	if name == "" || len(name) > MaxClaimName {
		return FieldError("name", "a claim name is 1-%d bytes, got %d", MaxClaimName, len(name))
	}
	if holder == "" || len(holder) > MaxClaimName {
		return FieldError("holder", "a claim holder is 1-%d bytes, got %d", MaxClaimName, len(holder))
	}
	if !release && !until.After(now) {
		return FieldError("until", "a claim must last: until %s is not after now %s", until.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	return nil
}
