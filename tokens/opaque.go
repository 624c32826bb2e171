package tokens

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
)

// Token prefixes make leaked tokens recognisable to secret scanners.
const (
	RefreshPrefix = "qzr_"
	CodePrefix    = "qzc_"
	keyLen        = 32
)

var b64 = base64.RawURLEncoding

// encodedLen is the length of a well-formed opaque token after its prefix.
var encodedLen = b64.EncodedLen(keyLen)

// Opaque implements fosite's refresh-token and authorization-code
// strategies. A token is a prefix and 256 random (or derived) bits; what is
// stored is its signature, HMAC-SHA256 under a key derived from
// QAZAUTH_SECRET, so a database leak yields no usable token.
type Opaque struct {
	sigKey  []byte
	succKey []byte
	now     func() time.Time
}

var (
	_ oauth2.RefreshTokenStrategy  = (*Opaque)(nil)
	_ oauth2.AuthorizeCodeStrategy = (*Opaque)(nil)
)

// NewOpaque derives the token keys from secret (at least 32 bytes).
func NewOpaque(secret []byte) (*Opaque, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("tokens: secret is %d bytes, want at least 32", len(secret))
	}
	sig, err := hkdf.Key(sha256.New, secret, nil, "qazauth token signature v1", 32)
	if err != nil {
		return nil, err
	}
	succ, err := hkdf.Key(sha256.New, secret, nil, "qazauth refresh successor v1", 32)
	if err != nil {
		return nil, err
	}
	return &Opaque{sigKey: sig, succKey: succ, now: time.Now}, nil
}

// signature is the keyed hash under which a token is stored.
func (o *Opaque) signature(token string) string {
	m := hmac.New(sha256.New, o.sigKey)
	m.Write([]byte(token))
	return b64.EncodeToString(m.Sum(nil))
}

func (o *Opaque) generate(prefix string) (string, string, error) {
	var k [keyLen]byte
	if _, err := rand.Read(k[:]); err != nil {
		return "", "", fmt.Errorf("generate token: %w", err)
	}
	tok := prefix + b64.EncodeToString(k[:])
	return tok, o.signature(tok), nil
}

// wellFormed reports whether token has the prefix and length of ours.
func wellFormed(token, prefix string) bool {
	return strings.HasPrefix(token, prefix) && len(token) == len(prefix)+encodedLen
}

// RefreshTokenSignature implements oauth2.RefreshTokenStrategy. Any input
// gets a signature; a malformed token simply matches nothing.
func (o *Opaque) RefreshTokenSignature(_ context.Context, token string) string {
	return o.signature(token)
}

// GenerateRefreshToken implements oauth2.RefreshTokenStrategy. In the
// refresh_token grant the successor is derived from the presented token:
// HMAC(successor key, presented token). Only a holder of the presented token
// (and the server) can compute it.
func (o *Opaque) GenerateRefreshToken(_ context.Context, r fosite.Requester) (string, string, error) {
	if ar, ok := r.(fosite.AccessRequester); ok && ar.GetGrantTypes().ExactOne("refresh_token") {
		presented := r.GetRequestForm().Get("refresh_token")
		if wellFormed(presented, RefreshPrefix) {
			m := hmac.New(sha256.New, o.succKey)
			m.Write([]byte(presented))
			tok := RefreshPrefix + b64.EncodeToString(m.Sum(nil))
			return tok, o.signature(tok), nil
		}
	}
	return o.generate(RefreshPrefix)
}

// ErrMalformed is returned for a token that is not of our format.
var ErrMalformed = errors.New("tokens: malformed token")

func (o *Opaque) validate(r fosite.Requester, token, prefix string, tt fosite.TokenType) error {
	if !wellFormed(token, prefix) {
		return fosite.ErrInvalidRequest.WithWrap(ErrMalformed)
	}
	exp := r.GetSession().GetExpiresAt(tt)
	if !exp.IsZero() && !o.now().Before(exp) {
		return fosite.ErrTokenExpired.WithHintf("The %s expired.", strings.ReplaceAll(string(tt), "_", " "))
	}
	return nil
}

// ValidateRefreshToken implements oauth2.RefreshTokenStrategy.
func (o *Opaque) ValidateRefreshToken(_ context.Context, r fosite.Requester, token string) error {
	return o.validate(r, token, RefreshPrefix, fosite.RefreshToken)
}

// AuthorizeCodeSignature implements oauth2.AuthorizeCodeStrategy.
func (o *Opaque) AuthorizeCodeSignature(_ context.Context, token string) string {
	return o.signature(token)
}

// GenerateAuthorizeCode implements oauth2.AuthorizeCodeStrategy.
func (o *Opaque) GenerateAuthorizeCode(context.Context, fosite.Requester) (string, string, error) {
	return o.generate(CodePrefix)
}

// ValidateAuthorizeCode implements oauth2.AuthorizeCodeStrategy.
func (o *Opaque) ValidateAuthorizeCode(_ context.Context, r fosite.Requester, token string) error {
	return o.validate(r, token, CodePrefix, fosite.AuthorizeCode)
}
