package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qaznat/qazauth/server/servertest"
)

// TestTokenResponseExpiresIn checks the token-endpoint behaviour that
// standard OAuth clients rely on to refresh in time, with the 1-second
// access tokens of the long-job tests: every token response's expires_in
// must be a positive number of seconds while the token it describes is
// valid, and agree with the token's exp claim (RFC 6749 §5.1).
// golang.org/x/oauth2 reads "expires_in": 0 as "no expiry known" and then
// never refreshes the token, so a 0 here surfaces in TestLongJob as a 401
// reaching the caller.
func TestTokenResponseExpiresIn(t *testing.T) {
	t.Parallel()
	auth := startAuth(t, withTokenTTLs(longTTL, longGrace))
	tokenURL := auth.URL + "/oauth2/token"

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	login := passwordGrant(t, tokenURL, servertest.User, servertest.UserPassword, scopesWithTranslate)
	rt := login.RefreshToken
	var bad []string
	// Nine refreshes 130 ms apart cover every sub-second phase of the clock.
	for i := range 9 {
		before := time.Now()
		tr, err := refreshGrant(ctx, tokenURL, rt)
		after := time.Now()
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		rt = tr.RefreshToken
		exp, iat := jwtTimes(t, tr.AccessToken)
		// What the token's own exp says is left, measured at receipt.
		left := exp.Sub(after)
		if tr.ExpiresIn < 1 && left > 0 || float64(tr.ExpiresIn) > exp.Sub(before).Seconds()+1 {
			bad = append(bad, fmt.Sprintf("request at %s: expires_in=%d, token iat=%d exp=%d (still valid for %v)",
				before.Format("15:04:05.000"), tr.ExpiresIn, iat.Unix(), exp.Unix(), left.Round(time.Millisecond)))
		}
		time.Sleep(130 * time.Millisecond)
	}
	if len(bad) > 0 {
		t.Errorf("with QAZAUTH_ACCESS_TOKEN_TTL=%v, %d of 9 refresh responses misstate expires_in:\n  %s",
			longTTL, len(bad), strings.Join(bad, "\n  "))
	}
}

// jwtTimes returns the exp and iat claims of a JWT, without verifying it
// (the API's validator does that).
func jwtTimes(t *testing.T, token string) (exp, iat time.Time) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Exp float64 `json:"exp"`
		Iat float64 `json:"iat"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return time.Unix(int64(c.Exp), 0), time.Unix(int64(c.Iat), 0)
}
