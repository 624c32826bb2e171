package storage

import (
	"maps"
	"slices"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"
)

// Session is what qazauth remembers about a grant between requests: who the
// user is, when they logged in, and when each of its tokens expires. It is
// serialized into every stored token record.
type Session struct {
	Subject       string   `json:"sub"`
	Username      string   `json:"username,omitempty"`
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified,omitempty"`
	Roles         []string `json:"roles,omitempty"`
	// AuthTime is when the user authenticated: the start of the
	// refresh-token chain, from which the session's maximum age counts.
	AuthTime time.Time `json:"auth_time"`
	// MaxAge is the absolute lifetime of the chain (0: unlimited).
	MaxAge    time.Duration                  `json:"max_age,omitempty"`
	ExpiresAt map[fosite.TokenType]time.Time `json:"expires_at,omitempty"`

	// OpenID Connect: claims and headers of the ID token.
	IDClaims  *jwt.IDTokenClaims `json:"id_token_claims,omitempty"`
	IDHeaders *jwt.Headers       `json:"id_token_headers,omitempty"`
}

var _ fosite.Session = (*Session)(nil)

// NewSession returns an empty session ready for fosite.
func NewSession() *Session {
	return &Session{ExpiresAt: map[fosite.TokenType]time.Time{}}
}

// SetExpiresAt implements fosite.Session.
func (s *Session) SetExpiresAt(key fosite.TokenType, exp time.Time) {
	if s.ExpiresAt == nil {
		s.ExpiresAt = map[fosite.TokenType]time.Time{}
	}
	s.ExpiresAt[key] = exp
}

// GetExpiresAt implements fosite.Session.
func (s *Session) GetExpiresAt(key fosite.TokenType) time.Time {
	if s == nil || s.ExpiresAt == nil {
		return time.Time{}
	}
	return s.ExpiresAt[key]
}

// GetUsername implements fosite.Session.
func (s *Session) GetUsername() string {
	if s == nil {
		return ""
	}
	return s.Username
}

// GetSubject implements fosite.Session.
func (s *Session) GetSubject() string {
	if s == nil {
		return ""
	}
	return s.Subject
}

// SetSubject lets fosite's password grant set the authenticated subject.
func (s *Session) SetSubject(subject string) { s.Subject = subject }

// SessionEnd returns when the chain must end (AuthTime + MaxAge), or the
// zero time when the chain has no absolute limit.
func (s *Session) SessionEnd() time.Time {
	if s == nil || s.MaxAge <= 0 || s.AuthTime.IsZero() {
		return time.Time{}
	}
	return s.AuthTime.Add(s.MaxAge)
}

// IDTokenClaims implements openid.Session.
func (s *Session) IDTokenClaims() *jwt.IDTokenClaims {
	if s.IDClaims == nil {
		s.IDClaims = &jwt.IDTokenClaims{}
	}
	return s.IDClaims
}

// IDTokenHeaders implements openid.Session.
func (s *Session) IDTokenHeaders() *jwt.Headers {
	if s.IDHeaders == nil {
		s.IDHeaders = &jwt.Headers{}
	}
	return s.IDHeaders
}

// Clone implements fosite.Session with a deep copy.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	c.Roles = slices.Clone(s.Roles)
	c.ExpiresAt = maps.Clone(s.ExpiresAt)
	if s.IDClaims != nil {
		ic := *s.IDClaims
		ic.Extra = maps.Clone(s.IDClaims.Extra)
		ic.Audience = slices.Clone(s.IDClaims.Audience)
		ic.AuthenticationMethodsReferences = slices.Clone(s.IDClaims.AuthenticationMethodsReferences)
		c.IDClaims = &ic
	}
	if s.IDHeaders != nil {
		c.IDHeaders = &jwt.Headers{Extra: maps.Clone(s.IDHeaders.Extra)}
	}
	return &c
}
