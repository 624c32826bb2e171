package tokens

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/qaznat/qazauth/keys"
	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/storage/sqlite"
)

func secret() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func refreshRequest(presented string) *fosite.AccessRequest {
	ar := fosite.NewAccessRequest(storage.NewSession())
	ar.GrantTypes = fosite.Arguments{"refresh_token"}
	ar.Form = url.Values{"refresh_token": {presented}}
	return ar
}

func TestOpaque_SuccessorIsDerivedFromThePresentedToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o, err := NewOpaque(secret())
	if err != nil {
		t.Fatal(err)
	}
	first, sig, err := o.GenerateRefreshToken(ctx, fosite.NewAccessRequest(storage.NewSession()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, RefreshPrefix) || sig != o.RefreshTokenSignature(ctx, first) || strings.Contains(first, sig) {
		t.Fatalf("token %q sig %q", first, sig)
	}
	a, asig, _ := o.GenerateRefreshToken(ctx, refreshRequest(first))
	b, bsig, _ := o.GenerateRefreshToken(ctx, refreshRequest(first))
	if a != b || asig != bsig {
		t.Fatal("two rotations of one token derived different successors")
	}
	if a == first {
		t.Fatal("successor equals its predecessor")
	}
	c, _, _ := o.GenerateRefreshToken(ctx, refreshRequest(a))
	if c == a {
		t.Fatal("successor chain repeats")
	}
	// Another secret derives another successor: only the server can.
	o2, _ := NewOpaque(secret())
	if d, _, _ := o2.GenerateRefreshToken(ctx, refreshRequest(first)); d == a {
		t.Fatal("successor does not depend on the secret")
	}
	// A malformed presented token gets a random token, not a derived one.
	x, _, _ := o.GenerateRefreshToken(ctx, refreshRequest("garbage"))
	y, _, _ := o.GenerateRefreshToken(ctx, refreshRequest("garbage"))
	if x == y {
		t.Fatal("malformed input derived a deterministic token")
	}
}

func TestOpaque_Validate(t *testing.T) {
	t.Parallel()
	o, _ := NewOpaque(secret())
	tok, _, _ := o.GenerateRefreshToken(context.Background(), fosite.NewAccessRequest(storage.NewSession()))
	live := fosite.NewAccessRequest(storage.NewSession())
	live.GetSession().SetExpiresAt(fosite.RefreshToken, time.Now().Add(time.Hour))
	dead := fosite.NewAccessRequest(storage.NewSession())
	dead.GetSession().SetExpiresAt(fosite.RefreshToken, time.Now().Add(-time.Second))
	cases := []struct {
		name  string
		r     fosite.Requester
		token string
		want  error
	}{
		{"valid", live, tok, nil},
		{"expired", dead, tok, fosite.ErrTokenExpired},
		{"wrong prefix", live, "qzc_" + tok[4:], fosite.ErrInvalidRequest},
		{"truncated", live, tok[:20], fosite.ErrInvalidRequest},
		{"empty", live, "", fosite.ErrInvalidRequest},
	}
	for _, tc := range cases {
		err := o.ValidateRefreshToken(context.Background(), tc.r, tc.token)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := NewOpaque([]byte("short")); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestJWT_GenerateAndVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seal, _ := keys.NewSealer(secret())
	km := keys.NewManager(st, seal, 2048, nil)
	if err := km.Init(ctx); err != nil {
		t.Fatal(err)
	}
	j := &JWT{Issuer: "https://auth.example.kz", Keys: km}

	sess := storage.NewSession()
	sess.Subject, sess.Username, sess.Email, sess.Roles = "U1", "aigerim", "a@example.kz", []string{"translator"}
	sess.AuthTime = time.Now().Add(-time.Minute).Truncate(time.Second)
	sess.SetExpiresAt(fosite.AccessToken, time.Now().Add(time.Minute))
	ar := fosite.NewAccessRequest(sess)
	ar.Client = &fosite.DefaultClient{ID: "qaznat-mobile"}
	ar.GrantScope("translate")
	ar.GrantScope("openid")
	ar.GrantAudience("qaznat-api")

	tok, sig, err := j.GenerateAccessToken(ctx, ar)
	if err != nil {
		t.Fatal(err)
	}
	if j.AccessTokenSignature(ctx, tok) != sig {
		t.Fatal("signature mismatch")
	}
	c, err := j.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "U1" || c.ClientID != "qaznat-mobile" || c.Scope != "translate openid" || c.Username != "aigerim" ||
		len(c.Audience) != 1 || c.Audience[0] != "qaznat-api" || c.AuthTime != sess.AuthTime.Unix() || c.ID == "" {
		t.Fatalf("claims = %+v", c)
	}
	raw, _ := json.Marshal(c)
	if !strings.Contains(string(raw), `"aud":"qaznat-api"`) {
		t.Fatalf("single audience not a string: %s", raw)
	}

	// client_credentials: the client is the subject.
	cc := fosite.NewAccessRequest(storage.NewSession())
	cc.Client = &fosite.DefaultClient{ID: "worker"}
	cc.GetSession().SetExpiresAt(fosite.AccessToken, time.Now().Add(time.Minute))
	ctok, _, _ := j.GenerateAccessToken(ctx, cc)
	if c, _ := j.Verify(ctok); c.Subject != "worker" {
		t.Fatalf("client_credentials sub = %q", c.Subject)
	}

	for name, bad := range map[string]string{
		"tampered":  tok[:len(tok)-4] + "AAAA",
		"garbage":   "a.b.c",
		"too large": strings.Repeat("a", 20<<10),
	} {
		if _, err := j.Verify(bad); err == nil {
			t.Errorf("%s token verified", name)
		}
	}
	other := &JWT{Issuer: "https://other.example", Keys: km}
	if _, err := other.Verify(tok); err == nil {
		t.Error("token of another issuer verified")
	}
	expired := &JWT{Issuer: j.Issuer, Keys: km, Now: func() time.Time { return time.Now().Add(2 * time.Minute) }}
	if _, err := expired.Verify(tok); !errors.Is(err, fosite.ErrTokenExpired) {
		t.Errorf("expired: %v", err)
	}
	if _, err := j.IDTokenAudience(tok); err != nil {
		t.Errorf("IDTokenAudience of a token we signed: %v", err)
	}
}

func TestOpaque_OldSecretKeepsTokensValid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := secret(), secret()
	underA, _ := NewOpaque(a)
	tok, sigA, _ := underA.GenerateRefreshToken(ctx, fosite.NewAccessRequest(storage.NewSession()))
	rotated, err := NewOpaque(b, a)
	if err != nil {
		t.Fatal(err)
	}
	if got := rotated.RefreshTokenSignature(ctx, tok); got != sigA {
		t.Fatal("a token made under the old secret has another signature after the rotation")
	}
	fresh, freshSig, _ := rotated.GenerateRefreshToken(ctx, fosite.NewAccessRequest(storage.NewSession()))
	if underA.RefreshTokenSignature(ctx, fresh) == freshSig {
		t.Fatal("a token made under the new secret verifies under the old one")
	}
	// Without the old secret, the old token's signature matches nothing.
	onlyB, _ := NewOpaque(b)
	if onlyB.RefreshTokenSignature(ctx, tok) == sigA {
		t.Fatal("old token still matches without QAZAUTH_SECRET_OLD")
	}
	// Its successor is made under the new secret.
	succ, _, _ := rotated.GenerateRefreshToken(ctx, refreshRequest(tok))
	if succ[len(RefreshPrefix):len(RefreshPrefix)+keyIDLen] != rotated.current.id {
		t.Fatalf("successor %q not under the current key %q", succ, rotated.current.id)
	}
}
