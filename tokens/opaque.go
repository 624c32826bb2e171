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
	// keyIDLen is the length of the key id after the prefix: which
	// secret's key made the token's signature.
	keyIDLen = 6
)

var b64 = base64.RawURLEncoding

// encodedLen is the length of a well-formed opaque token after its prefix
// and key id.
var encodedLen = b64.EncodedLen(keyLen)

// Opaque implements fosite's refresh-token and authorization-code
// strategies. A token is a prefix, the id of the secret it was made under,
// and 256 random (or derived) bits; what is stored is its signature,
// HMAC-SHA256 under a key derived from that secret, so a database leak yields
// no usable token. Tokens made under an old secret (QAZAUTH_SECRET_OLD) keep
// their signatures: rotating the secret signs nobody out.
type Opaque struct {
	current sigKey
	byID    map[string]sigKey // current and old, by key id
	succKey []byte
	now     func() time.Time
}

// sigKey is one secret's signing key and its public id.
type sigKey struct {
	id  string
	key []byte
}

var (
	_ oauth2.RefreshTokenStrategy  = (*Opaque)(nil)
	_ oauth2.AuthorizeCodeStrategy = (*Opaque)(nil)
)

// NewOpaque derives the token keys from secret and the previous secrets
// (each at least 32 bytes).
func NewOpaque(secret []byte, old ...[]byte) (*Opaque, error) {
	o := &Opaque{byID: map[string]sigKey{}, now: time.Now}
	for i, sec := range append([][]byte{secret}, old...) {
		if len(sec) < 32 {
			return nil, fmt.Errorf("tokens: secret is %d bytes, want at least 32", len(sec))
		}
		k, err := hkdf.Key(sha256.New, sec, nil, "qazauth token signature v1", 32)
		if err != nil {
			return nil, err
		}
		idSum := sha256.Sum256(k)
		sk := sigKey{id: b64.EncodeToString(idSum[:])[:keyIDLen], key: k}
		if i == 0 {
			o.current = sk
		}
		if _, dup := o.byID[sk.id]; !dup {
			o.byID[sk.id] = sk
		}
	}
	succ, err := hkdf.Key(sha256.New, secret, nil, "qazauth refresh successor v1", 32)
	if err != nil {
		return nil, err
	}
	o.succKey = succ
	return o, nil
}

// signature is the keyed hash under which a token is stored, under the key
// its id names (an unknown id: the current key, which matches nothing).
func (o *Opaque) signature(token string) string {
	k := o.current
	if i := strings.IndexByte(token, '_'); i >= 0 && len(token) >= i+1+keyIDLen {
		if sk, ok := o.byID[token[i+1:i+1+keyIDLen]]; ok {
			k = sk
		}
	}
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(token))
	return b64.EncodeToString(m.Sum(nil))
}

// mint returns a token of prefix with body under the current key.
func (o *Opaque) mint(prefix string, body []byte) (string, string) {
	tok := prefix + o.current.id + b64.EncodeToString(body)
	return tok, o.signature(tok)
}

func (o *Opaque) generate(prefix string) (string, string, error) {
	var k [keyLen]byte
	if _, err := rand.Read(k[:]); err != nil {
		return "", "", fmt.Errorf("generate token: %w", err)
	}
	tok, sig := o.mint(prefix, k[:])
	return tok, sig, nil
}

// wellFormed reports whether token has the prefix and length of ours.
func wellFormed(token, prefix string) bool {
	return strings.HasPrefix(token, prefix) && len(token) == len(prefix)+keyIDLen+encodedLen
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
			tok, sig := o.mint(RefreshPrefix, m.Sum(nil))
			return tok, sig, nil
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
