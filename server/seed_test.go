package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qaznat/qazauth/passwords"
	"github.com/qaznat/qazauth/storage/sqlite"
)

const testSeed = `clients:
  - client_id: qaznat-mobile
    public: true
    grant_types: [password, refresh_token, authorization_code]
    redirect_uris: ["kz.qaznat.app:/oauth2redirect"]
    scopes: [openid, offline_access, translate]
    audience: [qaznat-api]
    access_token_ttl: 5m
  - client_id: translation-worker
    client_secret: "change-me"
    grant_types: [client_credentials]
    scopes: [translate]
users:
  - username: Aigerim
    password: "correct horse"
    email: aigerim@example.kz
    roles: [translator]
  - username: dana
    password_hash: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
`

func writeSeed(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "seed.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSeed_IdempotentAndHashed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := passwords.New(passwords.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	seed, err := LoadSeed(writeSeed(t, testSeed))
	if err != nil {
		t.Fatal(err)
	}
	n, err := ApplySeed(ctx, st, h, seed)
	if err != nil || n != 4 {
		t.Fatalf("first apply: %d changes, %v", n, err)
	}
	u, err := st.GetUserByUsername(ctx, "aigerim")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(u.PasswordHash, "correct horse") || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("password stored as %q", u.PasswordHash)
	}
	c, _ := st.GetClient(ctx, "translation-worker")
	if !strings.HasPrefix(c.SecretHash, "$argon2id$") {
		t.Fatalf("client secret stored as %q", c.SecretHash)
	}
	dana, _ := st.GetUserByUsername(ctx, "dana")
	if dana.PasswordHash != seed.Users[1].PasswordHash {
		t.Fatal("password_hash not stored as given")
	}
	m, _ := st.GetClient(ctx, "qaznat-mobile")
	if m.AccessTokenTTL.String() != "5m0s" {
		t.Fatalf("client ttl override = %v", m.AccessTokenTTL)
	}

	n, err = ApplySeed(ctx, st, h, seed)
	if err != nil || n != 0 {
		t.Fatalf("second apply changed %d records (%v), want 0", n, err)
	}
	u2, _ := st.GetUserByUsername(ctx, "aigerim")
	if u2.ID != u.ID || u2.PasswordHash != u.PasswordHash {
		t.Fatal("second apply changed the user")
	}
}

func TestSeed_Invalid(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"unknown key":           "clients:\n  - client_id: a\n    public: true\n    grant_type: [password]\n",
		"public with secret":    "clients:\n  - client_id: a\n    public: true\n    client_secret: x\n    grant_types: [password]\n",
		"confidential no key":   "clients:\n  - client_id: a\n    grant_types: [client_credentials]\n",
		"bad grant":             "clients:\n  - client_id: a\n    public: true\n    grant_types: [implicit]\n",
		"duplicate client":      "clients:\n  - client_id: a\n    public: true\n    grant_types: [password]\n  - client_id: a\n    public: true\n    grant_types: [password]\n",
		"user without secret":   "users:\n  - username: a\n",
		"bad hash":              "users:\n  - username: a\n    password_hash: \"$2a$10$abc\"\n",
		"bad ttl":               "clients:\n  - client_id: a\n    public: true\n    grant_types: [password]\n    access_token_ttl: soon\n",
		"not yaml":              "clients: [",
		"public client creds":   "clients:\n  - client_id: a\n    public: true\n    grant_types: [client_credentials]\n",
		"duplicate user (case)": "users:\n  - username: A\n    password: x\n  - username: a\n    password: y\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadSeed(writeSeed(t, content))
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Env != "QAZAUTH_SEED_FILE" {
				t.Fatalf("err = %v, want a QAZAUTH_SEED_FILE error", err)
			}
		})
	}
	if _, err := LoadSeed(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("missing seed file accepted")
	}
}
