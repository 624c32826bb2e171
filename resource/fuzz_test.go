package resource

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// FuzzValidate feeds arbitrary strings to Validate. It must never panic,
// every error must have the documented shape, and the only string it may
// accept is the one valid token of the seed corpus.
func FuzzValidate(f *testing.F) {
	iss := newTestIssuer(f)
	clock := newFakeClock() // never advanced: the valid token stays valid
	v := newTestValidator(f, iss, clock)
	valid := signRS256(f, keyA(), header("a"), claims(iss.URL, clock.Now()))
	parts := strings.Split(valid, ".")

	noneHeader := header("a")
	noneHeader["alg"] = "none"
	seeds := []string{
		valid,
		"",
		".",
		"..",
		"a.b.c",
		parts[0] + "." + parts[1],
		parts[0] + "." + parts[1] + ".",
		valid[:len(valid)-1],
		valid + "A",
		valid + ".",
		signingInput(f, noneHeader, claims(iss.URL, clock.Now())) + ".",
		signRS256(f, attackerKey(), header("a"), claims(iss.URL, clock.Now())),
		signRS256(f, attackerKey(), header("zz"), claims(iss.URL, clock.Now())),
		`{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`,
		"eyJhbGciOiJSUzI1NiJ9.e30.",
	}
	for _, s := range seeds {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Validate(context.Background(), token)
		if err == nil {
			if token != valid {
				t.Fatalf("accepted a token other than the valid seed: %q", token)
			}
			if c == nil || c.Subject != "user-42" {
				t.Fatalf("valid token gave claims %+v", c)
			}
			return
		}
		if c != nil {
			t.Fatalf("claims %+v returned with error %v", c, err)
		}
		if errors.Is(err, ErrExpired) {
			t.Fatalf("ErrExpired for a token that is not the valid one: %v", err)
		}
		checkErrorShape(t, err)
	})
}
