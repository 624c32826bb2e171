package handlers

import (
	"slices"
	"time"

	"github.com/ory/fosite"

	"github.com/qaznat/qazauth/storage"
)

// grant grants the requested scopes (fosite has checked them against the
// client's) and the audience. A refresh token needs offline_access AND the
// client's refresh_token grant, so offline_access is granted only then.
func grant(d *Deps, ar fosite.Requester, c *storage.Client, scopes, aud []string) {
	canRefresh := slices.Contains(c.GrantTypes, "refresh_token")
	for _, sc := range scopes {
		if sc == "offline_access" && !canRefresh {
			continue
		}
		ar.GrantScope(sc)
	}
	for _, a := range audience(d, aud, c) {
		ar.GrantAudience(a)
	}
}

// audience is RFC 9068 §3's default resource: the request's audience, else
// the client's only audience, else QAZAUTH_ACCESS_TOKEN_AUDIENCE, else the
// issuer itself (whose own endpoints, such as /userinfo, accept the token).
func audience(d *Deps, requested []string, c *storage.Client) []string {
	switch {
	case len(requested) > 0:
		return requested
	case len(c.Audience) == 1:
		return c.Audience
	case d.DefaultAudience != "":
		return []string{d.DefaultAudience}
	default:
		return []string{d.Issuer}
	}
}

// startSession marks the start of a login chain: its absolute lifetime and,
// for OpenID Connect, the ID token's subject, auth_time and sid.
func startSession(d *Deps, s *storage.Session, c *storage.Client, ar fosite.Requester, authTime, now time.Time) {
	s.MaxAge = d.SessionMaxAge
	if c.SessionMaxAge > 0 {
		s.MaxAge = c.SessionMaxAge
	}
	if authTime.IsZero() {
		authTime = now
	}
	s.AuthTime = authTime.UTC().Truncate(time.Second)
	if ar.GetGrantedScopes().Has("openid") {
		ic := s.IDTokenClaims()
		ic.Subject = s.Subject
		ic.AuthTime = s.AuthTime
		ic.RequestedAt = ar.GetRequestedAt()
		if ic.Extra == nil {
			ic.Extra = map[string]any{}
		}
		if _, ok := ic.Extra["sid"]; !ok {
			ic.Extra["sid"] = ar.GetID()
		}
	}
}

// capLifetimes bounds every token of the session by its absolute end
// (QAZAUTH_SESSION_MAX_AGE); a session past its end grants nothing.
func capLifetimes(s *storage.Session, now time.Time) error {
	end := s.SessionEnd()
	if end.IsZero() {
		return nil
	}
	if !now.Before(end) {
		return fosite.ErrInvalidGrant.WithHint("The login session reached its maximum age; sign in again.")
	}
	for _, tt := range []fosite.TokenType{fosite.AccessToken, fosite.RefreshToken, fosite.IDToken} {
		if exp := s.GetExpiresAt(tt); !exp.IsZero() && exp.After(end) {
			s.SetExpiresAt(tt, end)
		}
	}
	return nil
}
