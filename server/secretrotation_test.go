package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qaznat/qazauth/keys"
	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
	"github.com/qaznat/qazauth/storage/sqlite"
)

// TestSecretRotation_KeysReencrypted starts with secret A and a next key
// beside the current one, restarts with B (A as old): the same key signs,
// a token issued under A still validates, and every stored key now
// decrypts with B and no longer with A; B alone then starts, A alone not.
func TestSecretRotation_KeysReencrypted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := servertest.RandomSecret(), servertest.RandomSecret()
	s1 := servertest.StartIn(t, dir, func(c *server.Config) { c.Secret = a })
	if _, err := s1.Server.Keys.Rotate(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	kid := s1.Server.Keys.CurrentKey().ID
	old, _, _ := issue(t, s1)
	login := passwordGrant(t, s1, servertest.User, servertest.UserPassword)
	issuer := s1.URL
	s1.Stop(t)
	http.DefaultClient.CloseIdleConnections()

	restart := func(c *server.Config) {
		c.Issuer, c.Addr = issuer, strings.TrimPrefix(issuer, "http://")
	}
	s2 := servertest.StartIn(t, dir, restart, func(c *server.Config) { c.Secret, c.SecretOld = b, [][]byte{a} })
	if got := s2.Server.Keys.CurrentKey().ID; got != kid {
		t.Fatalf("signing key after the secret rotation %s, want %s", got, kid)
	}
	v := validator(t, issuer, "", &jwksWatch{})
	if _, err := v.Validate(t.Context(), old); err != nil {
		t.Fatalf("token issued under secret A: %v", err)
	}
	// The login made under A goes on: rotating the secret signs nobody out.
	if code, tr := refresh(t, s2, login.RefreshToken); code != http.StatusOK {
		t.Fatalf("refresh token issued under secret A, after the rotation: %d %+v", code, tr)
	}
	fresh, _, _ := issue(t, s2)
	if _, err := v.Validate(t.Context(), fresh); err != nil {
		t.Fatalf("token issued under secret B: %v", err)
	}
	s2.Stop(t)

	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "qazauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.ListKeys(t.Context())
	st.Close()
	if err != nil || len(recs) != 2 {
		t.Fatalf("stored keys: %d %v, want the current and the next", len(recs), err)
	}
	onlyA, _ := keys.NewSealer(a)
	onlyB, _ := keys.NewSealer(b)
	for _, r := range recs {
		if _, stale, err := onlyB.Open(r.PrivateKey, []byte(r.ID)); err != nil || stale {
			t.Errorf("key %s does not decrypt with B alone: %v", r.ID, err)
		}
		if _, _, err := onlyA.Open(r.PrivateKey, []byte(r.ID)); !errors.Is(err, keys.ErrUnsealable) {
			t.Errorf("key %s still decrypts with A: %v", r.ID, err)
		}
	}

	s3 := servertest.StartIn(t, dir, restart, func(c *server.Config) { c.Secret = b })
	if s3.Server.Keys.CurrentKey().ID != kid {
		t.Fatal("B alone: another signing key")
	}
	s3.Stop(t)
	cfg := *s3.Config
	cfg.Secret, cfg.SecretOld = a, nil
	if _, err := server.New(context.Background(), &cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Options{}); !errors.Is(err, keys.ErrUnsealable) {
		t.Fatalf("start with A alone after the rotation: %v, want ErrUnsealable", err)
	}
}
