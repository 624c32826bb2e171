package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/qaznat/qazauth/storage/sqlite"
)

func secret(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func TestSealerRoundTripAndOldSecrets(t *testing.T) {
	t.Parallel()
	a, b := secret(t), secret(t)
	sa, err := NewSealer(a)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sa.Seal([]byte("private"), []byte("kid1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("private")) {
		t.Fatal("plaintext visible in sealed blob")
	}
	if _, _, err := sa.Open(sealed, []byte("kid2")); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("open with another kid: %v", err)
	}
	sb, _ := NewSealer(b, a)
	pt, stale, err := sb.Open(sealed, []byte("kid1"))
	if err != nil || !stale || string(pt) != "private" {
		t.Fatalf("open with old secret: %q %v %v", pt, stale, err)
	}
	onlyB, _ := NewSealer(b)
	if _, _, err := onlyB.Open(sealed, []byte("kid1")); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("open without old secret: %v", err)
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestManagerGeneratesOnceAndPublishes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sec := secret(t)
	seal, _ := NewSealer(sec)
	m := NewManager(st, seal, 2048, nil)
	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	kid := m.CurrentKey().ID
	body, etag := m.JWKS()
	if strings.Contains(string(body), `"d"`) || strings.Contains(string(body), `"p"`) {
		t.Fatalf("JWKS leaks private parts: %s", body)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) != 1 || set.Keys[0].KeyID != kid || !set.Keys[0].IsPublic() {
		t.Fatalf("JWKS = %s (%v)", body, err)
	}

	// A second manager (restart) reuses the key.
	m2 := NewManager(st, seal, 2048, nil)
	if err := m2.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if m2.CurrentKey().ID != kid {
		t.Fatalf("restart generated a new key %s, want %s", m2.CurrentKey().ID, kid)
	}
	if _, etag2 := m2.JWKS(); etag2 != etag {
		t.Fatalf("ETag changed without key change: %s vs %s", etag, etag2)
	}

	// Token signed with the current key verifies with the JWKS key.
	tok, err := m.SignAccessToken([]byte(`{"sub":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if jws.Signatures[0].Header.KeyID != kid || jws.Signatures[0].Header.ExtraHeaders["typ"] != "at+jwt" {
		t.Fatalf("header = %+v", jws.Signatures[0].Header)
	}
	if _, err := jws.Verify(set.Keys[0]); err != nil {
		t.Fatalf("verify: %v", err)
	}

	// Secret rotation: B with A as old re-encrypts; afterwards B alone works.
	secB := secret(t)
	sealB, _ := NewSealer(secB, sec)
	if err := NewManager(st, sealB, 2048, nil).Init(ctx); err != nil {
		t.Fatal(err)
	}
	onlyB, _ := NewSealer(secB)
	m3 := NewManager(st, onlyB, 2048, nil)
	if err := m3.Init(ctx); err != nil {
		t.Fatalf("after re-encryption, new secret alone: %v", err)
	}
	if m3.CurrentKey().ID != kid {
		t.Fatal("secret rotation changed the signing key")
	}
	onlyA, _ := NewSealer(sec)
	if err := NewManager(st, onlyA, 2048, nil).Init(ctx); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("old secret still decrypts after re-encryption: %v", err)
	}
}
