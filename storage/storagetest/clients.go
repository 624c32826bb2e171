package storagetest

import (
	"testing"
	"time"

	"github.com/qaznat/qazauth/storage"
)

func checkClient(t *testing.T, got, want *storage.Client) {
	t.Helper()
	if got.ID != want.ID || got.SecretHash != want.SecretHash || got.Public != want.Public || got.FirstParty != want.FirstParty {
		t.Errorf("client = %+v, want %+v", got, want)
	}
	sameStrings(t, "GrantTypes", got.GrantTypes, want.GrantTypes)
	sameStrings(t, "ResponseTypes", got.ResponseTypes, want.ResponseTypes)
	sameStrings(t, "RedirectURIs", got.RedirectURIs, want.RedirectURIs)
	sameStrings(t, "PostLogoutRedirectURIs", got.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs)
	sameStrings(t, "Scopes", got.Scopes, want.Scopes)
	sameStrings(t, "Audience", got.Audience, want.Audience)
	if got.AccessTokenTTL != want.AccessTokenTTL || got.RefreshTokenTTL != want.RefreshTokenTTL || got.SessionMaxAge != want.SessionMaxAge {
		t.Errorf("lifetimes = %v %v %v, want %v %v %v", got.AccessTokenTTL, got.RefreshTokenTTL, got.SessionMaxAge,
			want.AccessTokenTTL, want.RefreshTokenTTL, want.SessionMaxAge)
	}
}

var clientCases = []testCase{
	{name: "UpsertGetRoundTripsEveryField", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		c := &storage.Client{
			ID:                     "qaznat-mobile",
			SecretHash:             "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
			Public:                 true,
			FirstParty:             true,
			GrantTypes:             []string{"password", "refresh_token", "authorization_code"},
			ResponseTypes:          []string{"code"},
			RedirectURIs:           []string{"kz.qaznat.app:/oauth2redirect", "http://127.0.0.1/callback"},
			PostLogoutRedirectURIs: []string{"kz.qaznat.app:/logout"},
			Scopes:                 []string{"openid", "profile", "offline_access", "translate"},
			Audience:               []string{"qaznat-api"},
			AccessTokenTTL:         7*time.Minute + 30*time.Second,
			RefreshTokenTTL:        72 * time.Hour,
			SessionMaxAge:          720*time.Hour + time.Nanosecond,
		}
		before := time.Now().Add(-time.Second)
		must(t, s.UpsertClient(ctx, c), "UpsertClient")
		got, err := s.GetClient(ctx, c.ID)
		must(t, err, "GetClient")
		checkClient(t, got, c)
		if got.CreatedAt.Before(before) || got.UpdatedAt.Before(before) {
			t.Errorf("CreatedAt, UpdatedAt = %v, %v; want them set", got.CreatedAt, got.UpdatedAt)
		}
	}},
	{name: "UpsertReplacesExisting", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		c := &storage.Client{ID: "worker", SecretHash: "h1", GrantTypes: []string{"client_credentials"}, Scopes: []string{"translate"}, AccessTokenTTL: time.Minute}
		must(t, s.UpsertClient(ctx, c), "UpsertClient")
		c2 := &storage.Client{ID: "worker", SecretHash: "h2", GrantTypes: []string{"client_credentials", "refresh_token"}}
		must(t, s.UpsertClient(ctx, c2), "UpsertClient again")
		got, err := s.GetClient(ctx, "worker")
		must(t, err, "GetClient")
		checkClient(t, got, c2)
	}},
	{name: "UnknownClientNotFound", run: func(t *testing.T, s storage.Store) {
		_, err := s.GetClient(ctxOf(t), "nobody")
		wantErr(t, err, storage.ErrNotFound, "GetClient")
	}},
}
