package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/qaznat/qazauth/passwords"
	"github.com/qaznat/qazauth/storage"
)

// Seed is the YAML document of QAZAUTH_SEED_FILE.
type Seed struct {
	Clients []SeedClient `yaml:"clients"`
	Users   []SeedUser   `yaml:"users"`
}

// SeedClient is one client of the seed file.
type SeedClient struct {
	ClientID               string   `yaml:"client_id"`
	ClientSecret           string   `yaml:"client_secret"`
	ClientSecretHash       string   `yaml:"client_secret_hash"`
	Public                 bool     `yaml:"public"`
	FirstParty             bool     `yaml:"first_party"`
	GrantTypes             []string `yaml:"grant_types"`
	ResponseTypes          []string `yaml:"response_types"`
	RedirectURIs           []string `yaml:"redirect_uris"`
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	Scopes                 []string `yaml:"scopes"`
	Audience               []string `yaml:"audience"`
	AccessTokenTTL         string   `yaml:"access_token_ttl"`
	RefreshTokenTTL        string   `yaml:"refresh_token_ttl"`
	SessionMaxAge          string   `yaml:"session_max_age"`
}

// SeedUser is one user of the seed file.
type SeedUser struct {
	Username      string   `yaml:"username"`
	Password      string   `yaml:"password"`
	PasswordHash  string   `yaml:"password_hash"`
	Email         string   `yaml:"email"`
	EmailVerified *bool    `yaml:"email_verified"`
	Roles         []string `yaml:"roles"`
	Disabled      bool     `yaml:"disabled"`
}

// supportedGrants are the grant types a client may be given.
var supportedGrants = []string{"authorization_code", "refresh_token", "password", "client_credentials"}

// LoadSeed reads and validates a seed file; unknown keys are errors, so a
// typo cannot silently drop a setting.
func LoadSeed(path string) (*Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Env: "QAZAUTH_SEED_FILE", Flag: "seed-file", Msg: fmt.Sprintf("cannot read %s: %v", path, errors.Unwrap(err))}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Seed
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, &ConfigError{Env: "QAZAUTH_SEED_FILE", Flag: "seed-file", Msg: fmt.Sprintf("%s: %v", path, err)}
	}
	if err := s.validate(); err != nil {
		return nil, &ConfigError{Env: "QAZAUTH_SEED_FILE", Flag: "seed-file", Msg: fmt.Sprintf("%s: %v", path, err)}
	}
	return &s, nil
}

func (s *Seed) validate() error {
	seen := map[string]bool{}
	for i, c := range s.Clients {
		where := fmt.Sprintf("clients[%d]", i)
		if c.ClientID == "" {
			return fmt.Errorf("%s: client_id is required", where)
		}
		if seen[c.ClientID] {
			return fmt.Errorf("%s: client_id %q appears twice", where, c.ClientID)
		}
		seen[c.ClientID] = true
		where = fmt.Sprintf("client %q", c.ClientID)
		switch {
		case c.Public && (c.ClientSecret != "" || c.ClientSecretHash != ""):
			return fmt.Errorf("%s: a public client has no secret", where)
		case !c.Public && c.ClientSecret == "" && c.ClientSecretHash == "":
			return fmt.Errorf("%s: a confidential client needs client_secret (or client_secret_hash); set public: true for apps", where)
		case c.ClientSecret != "" && c.ClientSecretHash != "":
			return fmt.Errorf("%s: give client_secret or client_secret_hash, not both", where)
		case c.ClientSecretHash != "" && !passwords.Valid(c.ClientSecretHash):
			return fmt.Errorf("%s: client_secret_hash is not an argon2id PHC string", where)
		}
		if len(c.GrantTypes) == 0 {
			return fmt.Errorf("%s: grant_types is required", where)
		}
		for _, g := range c.GrantTypes {
			if !slices.Contains(supportedGrants, g) {
				return fmt.Errorf("%s: unsupported grant type %q (want one of %s)", where, g, strings.Join(supportedGrants, ", "))
			}
		}
		if c.Public && slices.Contains(c.GrantTypes, "client_credentials") {
			return fmt.Errorf("%s: a public client cannot use client_credentials", where)
		}
		for _, d := range []struct{ name, v string }{{"access_token_ttl", c.AccessTokenTTL}, {"refresh_token_ttl", c.RefreshTokenTTL}, {"session_max_age", c.SessionMaxAge}} {
			if d.v == "" {
				continue
			}
			if v, err := time.ParseDuration(d.v); err != nil || v <= 0 {
				return fmt.Errorf("%s: %s %q is not a positive duration", where, d.name, d.v)
			}
		}
	}
	users := map[string]bool{}
	for i, u := range s.Users {
		where := fmt.Sprintf("users[%d]", i)
		if strings.TrimSpace(u.Username) == "" {
			return fmt.Errorf("%s: username is required", where)
		}
		name := strings.ToLower(u.Username)
		if users[name] {
			return fmt.Errorf("%s: username %q appears twice", where, u.Username)
		}
		users[name] = true
		switch {
		case u.Password == "" && u.PasswordHash == "":
			return fmt.Errorf("user %q: password or password_hash is required", u.Username)
		case u.Password != "" && u.PasswordHash != "":
			return fmt.Errorf("user %q: give password or password_hash, not both", u.Username)
		case u.PasswordHash != "" && !passwords.Valid(u.PasswordHash):
			return fmt.Errorf("user %q: password_hash is not an argon2id PHC string", u.Username)
		}
	}
	return nil
}

func parseTTL(s string) time.Duration {
	d, _ := time.ParseDuration(s) // validated
	return d
}

// ApplySeed upserts the seed's clients and users. It is idempotent: a record
// that already matches (including a stored hash that verifies the seed's
// plain secret) is not written again.
func ApplySeed(ctx context.Context, st storage.Store, h *passwords.Hasher, s *Seed) (changed int, err error) {
	for _, sc := range s.Clients {
		c := &storage.Client{
			ID: sc.ClientID, Public: sc.Public, FirstParty: sc.FirstParty,
			GrantTypes: sc.GrantTypes, ResponseTypes: sc.ResponseTypes,
			RedirectURIs: sc.RedirectURIs, PostLogoutRedirectURIs: sc.PostLogoutRedirectURIs,
			Scopes: sc.Scopes, Audience: sc.Audience, SecretHash: sc.ClientSecretHash,
			AccessTokenTTL: parseTTL(sc.AccessTokenTTL), RefreshTokenTTL: parseTTL(sc.RefreshTokenTTL), SessionMaxAge: parseTTL(sc.SessionMaxAge),
		}
		old, gerr := st.GetClient(ctx, c.ID)
		if gerr != nil && !errors.Is(gerr, storage.ErrNotFound) {
			return changed, fmt.Errorf("seed client %q: %w", c.ID, gerr)
		}
		if sc.ClientSecret != "" {
			if old != nil && old.SecretHash != "" && h.Verify(ctx, old.SecretHash, sc.ClientSecret) == nil {
				c.SecretHash = old.SecretHash
			} else if c.SecretHash, err = h.Hash(ctx, sc.ClientSecret); err != nil {
				return changed, fmt.Errorf("seed client %q: hash secret: %w", c.ID, err)
			}
		}
		if old != nil {
			c.CreatedAt, c.UpdatedAt = old.CreatedAt, old.UpdatedAt
			if reflect.DeepEqual(normClient(*old), normClient(*c)) {
				continue
			}
		}
		if err := st.UpsertClient(ctx, c); err != nil {
			return changed, fmt.Errorf("seed client %q: %w", c.ID, err)
		}
		changed++
	}
	for _, su := range s.Users {
		u := &storage.User{
			Username: strings.ToLower(su.Username), PasswordHash: su.PasswordHash,
			Email: su.Email, EmailVerified: su.EmailVerified == nil || *su.EmailVerified,
			Roles: su.Roles, Disabled: su.Disabled,
		}
		if su.Email == "" {
			u.EmailVerified = false
		}
		old, gerr := st.GetUserByUsername(ctx, u.Username)
		if gerr != nil && !errors.Is(gerr, storage.ErrNotFound) {
			return changed, fmt.Errorf("seed user %q: %w", su.Username, gerr)
		}
		if su.Password != "" {
			if old != nil && h.Verify(ctx, old.PasswordHash, su.Password) == nil {
				u.PasswordHash = old.PasswordHash
			} else if u.PasswordHash, err = h.Hash(ctx, su.Password); err != nil {
				return changed, fmt.Errorf("seed user %q: hash password: %w", su.Username, err)
			}
		}
		if old != nil {
			u.ID, u.CreatedAt, u.UpdatedAt = old.ID, old.CreatedAt, old.UpdatedAt
			if reflect.DeepEqual(normUser(*old), normUser(*u)) {
				continue
			}
		}
		if _, err := st.UpsertUser(ctx, u); err != nil {
			return changed, fmt.Errorf("seed user %q: %w", su.Username, err)
		}
		changed++
	}
	return changed, nil
}

// normClient and normUser make nil and empty slices compare equal.
func normClient(c storage.Client) storage.Client {
	for _, p := range []*[]string{&c.GrantTypes, &c.ResponseTypes, &c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.Scopes, &c.Audience} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{}
	return c
}

func normUser(u storage.User) storage.User {
	if len(u.Roles) == 0 {
		u.Roles = nil
	}
	u.CreatedAt, u.UpdatedAt = time.Time{}, time.Time{}
	return u
}
