package tokens

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/qaznat/qazauth/keys"
	"github.com/qaznat/qazauth/storage"
)

// JWT issues access tokens in the RFC 9068 profile, signed RS256 with the
// current key: resource servers validate them offline through the JWKS.
type JWT struct {
	Issuer string
	Keys   *keys.Manager
	Now    func() time.Time
}

var _ oauth2.AccessTokenStrategy = (*JWT)(nil)

// AccessClaims are the claims of an access token (RFC 9068 §2.2).
type AccessClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	Expiry    int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf,omitempty"`
	ID        string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope,omitempty"`
	// AuthTime is when the user authenticated (RFC 9068 §2.2.1).
	AuthTime int64 `json:"auth_time,omitempty"`

	// User claims (RFC 9068 §2.2.2, §2.2.3.1).
	Username string   `json:"preferred_username,omitempty"`
	Email    string   `json:"email,omitempty"`
	Roles    []string `json:"roles,omitempty"`
}

// audience marshals as a string when single (RFC 7519 §4.1.3 allows both).
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*a = ss
	return nil
}

func (j *JWT) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// AccessTokenSignature implements oauth2.AccessTokenStrategy: the JWS
// signature part identifies the token in storage.
func (j *JWT) AccessTokenSignature(_ context.Context, token string) string {
	if i := strings.LastIndexByte(token, '.'); i >= 0 && strings.Count(token, ".") == 2 {
		return token[i+1:]
	}
	return ""
}

// GenerateAccessToken implements oauth2.AccessTokenStrategy.
func (j *JWT) GenerateAccessToken(_ context.Context, r fosite.Requester) (string, string, error) {
	now := j.now()
	exp := r.GetSession().GetExpiresAt(fosite.AccessToken)
	if exp.IsZero() {
		return "", "", fmt.Errorf("generate access token: session has no access-token expiry")
	}
	jti := rand.Text()
	c := AccessClaims{
		Issuer:   j.Issuer,
		Subject:  r.GetSession().GetSubject(),
		Audience: audience(r.GetGrantedAudience()),
		Expiry:   exp.Unix(),
		IssuedAt: now.Unix(),
		ID:       jti,
		ClientID: r.GetClient().GetID(),
		Scope:    strings.Join(r.GetGrantedScopes(), " "),
	}
	if s, ok := r.GetSession().(*storage.Session); ok && s.Subject != "" {
		c.Username, c.Email, c.Roles = s.Username, s.Email, s.Roles
		if !s.AuthTime.IsZero() {
			c.AuthTime = s.AuthTime.Unix()
		}
	}
	if c.Subject == "" {
		// client_credentials: the client acts on its own behalf
		// (RFC 9068 §2.2).
		c.Subject = c.ClientID
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", "", fmt.Errorf("encode access token claims: %w", err)
	}
	tok, err := j.Keys.SignAccessToken(payload)
	if err != nil {
		return "", "", err
	}
	return tok, tok[strings.LastIndexByte(tok, '.')+1:], nil
}

// ValidateAccessToken implements oauth2.AccessTokenStrategy: the signature
// must verify with a published key and the token must not have expired.
func (j *JWT) ValidateAccessToken(_ context.Context, _ fosite.Requester, token string) error {
	_, err := j.Verify(token)
	return err
}

// Verify checks an access token issued by this server and returns its
// claims; used by introspection and the server's own bearer endpoints.
func (j *JWT) Verify(token string) (*AccessClaims, error) {
	jws, payload, err := j.verifySignature(token)
	if err != nil {
		return nil, fosite.ErrTokenSignatureMismatch.WithHint("The access token is malformed or its signature is invalid.")
	}
	if typ, _ := jws.Signatures[0].Header.ExtraHeaders["typ"].(string); !strings.EqualFold(typ, "at+jwt") {
		return nil, fosite.ErrTokenSignatureMismatch.WithHint("The token is not an access token.")
	}
	var c AccessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fosite.ErrTokenSignatureMismatch.WithHint("The access token claims are malformed.")
	}
	if c.Issuer != j.Issuer {
		return nil, fosite.ErrTokenSignatureMismatch.WithHint("The access token was issued by another issuer.")
	}
	if !j.now().Before(time.Unix(c.Expiry, 0)) {
		return nil, fosite.ErrTokenExpired.WithHint("The access token expired.")
	}
	return &c, nil
}

// maxTokenSize bounds what is parsed at all.
const maxTokenSize = 16 << 10

// parse parses a compact RS256 JWS with exactly one signature.
func parse(token string) (*jose.JSONWebSignature, error) {
	if len(token) > maxTokenSize {
		return nil, ErrMalformed
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, ErrMalformed
	}
	return jws, nil
}

// verifySignature parses token and checks its signature against the
// published key its kid names.
func (j *JWT) verifySignature(token string) (*jose.JSONWebSignature, []byte, error) {
	jws, err := parse(token)
	if err != nil {
		return nil, nil, err
	}
	pub, ok := j.Keys.PublicKey(jws.Signatures[0].Header.KeyID)
	if !ok {
		return nil, nil, ErrMalformed
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return nil, nil, ErrMalformed
	}
	return jws, payload, nil
}

// IDTokenAudience verifies the signature and issuer of an ID token this
// server issued, ignoring its expiry (an id_token_hint may be expired), and
// returns its audience.
func (j *JWT) IDTokenAudience(token string) ([]string, error) {
	_, payload, err := j.verifySignature(token)
	if err != nil {
		return nil, err
	}
	var c struct {
		Issuer   string   `json:"iss"`
		Audience audience `json:"aud"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer != j.Issuer {
		return nil, ErrMalformed
	}
	return c.Audience, nil
}

// ClaimsOf decodes the claims of an access token WITHOUT checking its
// signature. Only for a token this process has just verified (fosite's
// introspection calls ValidateAccessToken first): a second RSA check of the
// same bytes would only double the cost.
func (j *JWT) ClaimsOf(token string) (*AccessClaims, error) {
	jws, err := parse(token)
	if err != nil {
		return nil, err
	}
	var c AccessClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return nil, ErrMalformed
	}
	return &c, nil
}
