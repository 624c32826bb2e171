// Package storagetest is the conformance suite that every storage backend
// must pass: the documented behaviour of each storage.Store method, and the
// once-only decisions (refresh-token rotation, authorization-code
// redemption, chain revocation) under heavy concurrency.
//
// A backend's test calls Run with a constructor of fresh, empty stores:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store {
//			s, err := Open(...)
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Times handed to the store are truncated to the millisecond: a backend must
// keep at least millisecond precision (BSON dates have exactly that).
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// Run runs the whole suite. newStore returns a fresh, empty store and
// registers its cleanup with t; every subtest (every trial of a concurrency
// test) gets its own. Under -short the concurrency tests run 3 trials
// instead of 20.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Users", userCases},
		{"Clients", clientCases},
		{"AccessTokens", accessCases},
		{"RefreshTokens", refreshCases},
		{"Rotation", rotationCases},
		{"RevokeChain", revokeCases},
		{"AuthCodes", codeCases},
		{"Keys", keyCases},
		{"Sessions", sessionCases},
		{"LoginAttempts", attemptCases},
		{"Maintenance", maintenanceCases},
		{"Concurrency", concurrencyCases},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) {
					if tc.trials == 0 {
						tc.run(t, newStore(t))
						return
					}
					// Every trial gets a fresh store: trials stay
					// independent, and collections small.
					n := tc.trials
					if testing.Short() {
						n = min(n, 3)
					}
					for i := range n {
						t.Run(fmt.Sprintf("trial%02d", i), func(t *testing.T) {
							tc.run(t, newStore(t))
						})
					}
				})
			}
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, s storage.Store)
	// trials > 0 runs the case that many times, each on a fresh store.
	trials int
}

// --- helpers ---

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// now is the wall clock at millisecond precision, in UTC.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func sameTime(t *testing.T, field string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", field, got, want)
	}
}

func sameStrings(t *testing.T, field string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %q, want %q", field, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s = %q, want %q", field, got, want)
			return
		}
	}
}

var seq atomic.Int64

// uniq returns a new identifier with prefix p, unique within the process.
func uniq(p string) string {
	return fmt.Sprintf("%s-%d-%d", p, time.Now().UnixNano(), seq.Add(1))
}

// token returns a token record of request rid that expires after ttl.
func token(sig, rid string, ttl time.Duration) *storage.Token {
	n := now()
	return &storage.Token{
		Signature:      sig,
		RequestID:      rid,
		ClientID:       "client-1",
		Subject:        "subject-1",
		CreatedAt:      n,
		ExpiresAt:      n.Add(ttl),
		Data:           []byte(`{"id":"` + rid + `","session":{"sub":"subject-1"}}`),
		ChainStartedAt: n.Add(-time.Hour),
		UserAgent:      "qaznat-mobile/1.0",
		IP:             "203.0.113.7",
	}
}

// checkToken compares the stored fields of a token record.
func checkToken(t *testing.T, got, want *storage.Token, refresh bool) {
	t.Helper()
	if got == nil {
		t.Fatal("token record is nil")
	}
	if got.Signature != want.Signature {
		t.Errorf("Signature = %q, want %q", got.Signature, want.Signature)
	}
	if got.RequestID != want.RequestID {
		t.Errorf("RequestID = %q, want %q", got.RequestID, want.RequestID)
	}
	if got.ClientID != want.ClientID {
		t.Errorf("ClientID = %q, want %q", got.ClientID, want.ClientID)
	}
	if got.Subject != want.Subject {
		t.Errorf("Subject = %q, want %q", got.Subject, want.Subject)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	if string(got.Data) != string(want.Data) {
		t.Errorf("Data = %q, want %q", got.Data, want.Data)
	}
	if refresh {
		sameTime(t, "ChainStartedAt", got.ChainStartedAt, want.ChainStartedAt)
		if got.UserAgent != want.UserAgent {
			t.Errorf("UserAgent = %q, want %q", got.UserAgent, want.UserAgent)
		}
		if got.IP != want.IP {
			t.Errorf("IP = %q, want %q", got.IP, want.IP)
		}
	}
}

// rotation returns a rotation of old to a new token of the same request.
func rotation(old *storage.Token, newSig, accessSig string, at time.Time, grace time.Duration) storage.Rotation {
	nt := token(newSig, old.RequestID, time.Hour)
	nt.CreatedAt = at
	nt.ExpiresAt = at.Add(time.Hour)
	nt.ChainStartedAt = old.ChainStartedAt
	r := storage.Rotation{Old: old.Signature, New: *nt, Now: at, Grace: grace}
	if accessSig != "" {
		a := token(accessSig, old.RequestID, 15*time.Minute)
		a.ChainStartedAt, a.UserAgent, a.IP = time.Time{}, "", ""
		r.Access = a
	}
	return r
}

// createRefresh stores a fresh refresh token of request rid.
func createRefresh(t *testing.T, ctx context.Context, s storage.Store, rid string) *storage.Token {
	t.Helper()
	tok := token(uniq("rt"), rid, time.Hour)
	must(t, s.CreateRefreshToken(ctx, tok), "CreateRefreshToken")
	return tok
}

func getRefresh(t *testing.T, ctx context.Context, s storage.Store, sig string) *storage.Token {
	t.Helper()
	got, err := s.GetRefreshToken(ctx, sig)
	must(t, err, "GetRefreshToken "+sig)
	return got
}
