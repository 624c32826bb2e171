package resource

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestClaimsCache_ChecksEveryCall: a token validated before (its claims
// cached) is still checked for expiry on every call, a forged signature over
// the same payload is still refused, and callers cannot corrupt the cache by
// changing the slices they get.
func TestClaimsCache_ChecksEveryCall(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	clock := newFakeClock()
	v := newTestValidator(t, iss, clock)
	cl := claims(iss.URL, clock.Now())
	tok := signRS256(t, keyA(), header("a"), cl)
	ctx := context.Background()

	first, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	first.Roles[0], first.Audience[0] = "admin", "other"
	second, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if second.Roles[0] != "user" || second.Audience[0] != testAudience {
		t.Fatalf("a caller's change reached the cache: roles %v aud %v", second.Roles, second.Audience)
	}

	// Same payload, signature by a key the issuer never published.
	forged := signRS256(t, attackerKey(), header("a"), cl)
	if _, err := v.Validate(ctx, forged); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("forged signature over a cached payload: %v", err)
	}

	clock.Advance(6 * time.Minute)
	if _, err := v.Validate(ctx, tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("cached token after its expiry: %v", err)
	}
}
