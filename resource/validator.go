package resource

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxTokenSize is the largest token Validate will look at. qazauth's tokens
// are well under 2 KiB; the cap keeps hostile input from costing more than
// a length check.
const maxTokenSize = 16 << 10

// A Validator validates access tokens of one issuer, offline, against the
// issuer's cached public keys. It is safe for concurrent use; create one per
// issuer and audience at start-up and share it. It runs no goroutines except
// while refreshing its key set, so it needs no Close.
type Validator struct {
	issuer         string
	audience       string // "" only with SkipAudienceCheck
	leeway         time.Duration
	algorithms     []jose.SignatureAlgorithm
	now            func() time.Time
	requiredScopes []string
	realm          string
	keys           *keySet
	claims         claimsCache
}

// New returns a Validator for tokens issued by issuerURL.
//
// Unless the [JWKSURL] option is given, New fetches the issuer's metadata
// from issuerURL + "/.well-known/openid-configuration" (falling back to the
// RFC 8414 location on 404), checks that its "issuer" equals issuerURL
// exactly and reads "jwks_uri". It then fetches the key set once, so that a
// misconfiguration surfaces at start-up rather than on the first request.
// ctx bounds only these initial requests; later key-set refreshes run with
// their own timeout.
//
// New requires the [Audience] option (or, deliberately, [SkipAudienceCheck])
// and rejects invalid options, such as [Algorithms]("none").
func New(ctx context.Context, issuerURL string, opts ...Option) (*Validator, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("resource: invalid option: %w", err)
		}
	}
	if err := checkIssuer(issuerURL); err != nil {
		return nil, fmt.Errorf("resource: issuer URL: %w", err)
	}
	switch {
	case cfg.audience == "" && !cfg.skipAudience:
		return nil, errors.New("resource: the Audience option is required (or SkipAudienceCheck to accept any audience)")
	case cfg.audience != "" && cfg.skipAudience:
		return nil, errors.New("resource: Audience and SkipAudienceCheck are mutually exclusive")
	}

	jwksURL := cfg.jwksURL
	if jwksURL == "" {
		var err error
		jwksURL, err = discoverJWKSURL(ctx, cfg.client, issuerURL)
		if err != nil {
			return nil, fmt.Errorf("resource: discovery for %s: %w", issuerURL, err)
		}
	}
	keys := newKeySet(jwksURL, cfg.client, cfg.now, cfg.minRefetch)
	if err := keys.init(ctx); err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}

	return &Validator{
		issuer:         issuerURL,
		audience:       cfg.audience,
		leeway:         cfg.leeway,
		algorithms:     cfg.algorithms,
		now:            cfg.now,
		requiredScopes: cfg.requiredScopes,
		realm:          cfg.realm,
		keys:           keys,
	}, nil
}

// checkIssuer enforces the shape RFC 8414 §2 gives an issuer identifier: an
// absolute http(s) URL without query or fragment.
func checkIssuer(issuer string) error {
	if err := checkHTTPURL(issuer); err != nil {
		return err
	}
	u, _ := url.Parse(issuer)
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(issuer, "?#") {
		return fmt.Errorf("%q has a query or fragment", issuer)
	}
	return nil
}

// Validate checks rawToken as an RFC 9068 JWT access token and returns its
// claims. ctx matters only when the token names a key that is not cached
// and Validate waits for the key set to be refetched.
//
// The checks run in this order, and the first failure is returned:
//
//   - size (at most 16 KiB) and syntax: exactly three canonical base64url
//     parts (JWS compact serialization, RFC 7515 §7.1) → [ErrMalformed];
//   - "alg" header among the allowed algorithms → [ErrAlgorithm];
//   - "kid" header present → [ErrMalformed];
//   - "typ" header "at+jwt" or "application/at+jwt", compared
//     case-insensitively (RFC 9068 §4) → [ErrType];
//   - key lookup by "kid", refetching the key set if needed →
//     [ErrUnknownKey] (which also matches [ErrInvalidSignature]), and the
//     key's own "alg", if any, equal to the header's → [ErrAlgorithm];
//   - signature → [ErrInvalidSignature];
//   - claims decode as JSON with the right types → [ErrMalformed];
//   - "iss" equals the issuer URL exactly → [ErrIssuer];
//   - "aud" contains the audience → [ErrAudience];
//   - "sub", "exp" and "iat" present → [ErrMalformed];
//   - "nbf" and "iat" not after now plus leeway → [ErrNotYetValid];
//   - now before "exp" plus leeway (RFC 7519 §4.1.4) → [ErrExpired].
//
// Because expiry is checked last, [ErrExpired] means the token is otherwise
// valid. Header parameters that could point elsewhere for a key ("jwk",
// "jku", "x5u", "x5c") are ignored: only the issuer's key set is trusted.
func (v *Validator) Validate(ctx context.Context, rawToken string) (*Claims, error) {
	if err := checkCompact(rawToken); err != nil {
		return nil, err
	}
	jws, err := jose.ParseSignedCompact(rawToken, v.algorithms)
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return nil, newError(ErrAlgorithm, "alg "+quoteDetail(string(algErr.Got)))
		}
		return nil, wrapError(ErrMalformed, "invalid JWS", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, newError(ErrMalformed, "want exactly one signature")
	}
	header := jws.Signatures[0].Protected
	if header.KeyID == "" {
		return nil, newError(ErrMalformed, "missing kid header")
	}
	if typ, _ := header.ExtraHeaders[jose.HeaderType].(string); !isAccessTokenType(typ) {
		return nil, newError(ErrType, "typ "+quoteDetail(typ))
	}

	key, err := v.keys.lookup(ctx, header.KeyID)
	if err != nil {
		return nil, err
	}
	if key.alg != "" && key.alg != header.Algorithm {
		return nil, newError(ErrAlgorithm, "key "+quoteDetail(header.KeyID)+" is for "+key.alg)
	}
	payload, err := jws.Verify(key.key)
	if err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, wrapError(ErrInvalidSignature, "", err)
		}
		// The only non-cryptographic failure left is a "crit" header
		// naming an extension go-jose does not implement (RFC 7515 §4.1.11).
		return nil, wrapError(ErrMalformed, "unsupported critical header", err)
	}

	// The payload segment (checkCompact made sure there are three) keys
	// the decoded claims; the signature over it was verified above.
	seg := rawToken[strings.IndexByte(rawToken, '.')+1 : strings.LastIndexByte(rawToken, '.')]
	rc, ok := v.claims.get(seg)
	if !ok {
		rc = new(rawClaims)
		if err := decodeClaims(payload, rc); err != nil {
			return nil, wrapError(ErrMalformed, "claims: "+err.Error(), err)
		}
		v.claims.put(seg, rc)
	}
	return v.checkClaims(rc)
}

// checkClaims applies the claim checks of RFC 9068 §4 and RFC 7519 §4.1 to
// a token whose signature has been verified.
func (v *Validator) checkClaims(rc *rawClaims) (*Claims, error) {
	if rc.Issuer != v.issuer {
		return nil, newError(ErrIssuer, "iss "+quoteDetail(rc.Issuer))
	}
	if v.audience != "" && !slices.Contains(rc.Audience, v.audience) {
		return nil, newError(ErrAudience, "token is not meant for this resource server")
	}
	switch {
	case rc.Subject == "":
		return nil, newError(ErrMalformed, "missing sub claim")
	case !rc.Expiry.set:
		return nil, newError(ErrMalformed, "missing exp claim")
	case !rc.IssuedAt.set:
		return nil, newError(ErrMalformed, "missing iat claim")
	}

	now := v.now()
	skewed := now.Add(v.leeway)
	if rc.NotBefore.set && skewed.Before(rc.NotBefore.t) {
		return nil, newError(ErrNotYetValid, "nbf is in the future")
	}
	if skewed.Before(rc.IssuedAt.t) {
		return nil, newError(ErrNotYetValid, "iat is in the future")
	}
	if !now.Before(rc.Expiry.t.Add(v.leeway)) {
		return nil, newError(ErrExpired, "")
	}

	return &Claims{
		Subject:   rc.Subject,
		ClientID:  rc.ClientID,
		Scopes:    strings.Fields(rc.Scope),
		Roles:     slices.Clone(rc.Roles), // rc may be cached: never share its slices
		Username:  rc.Username,
		Email:     rc.Email,
		ExpiresAt: rc.Expiry.t,
		IssuedAt:  rc.IssuedAt.t,
		JTI:       rc.JTI,
		Audience:  slices.Clone(rc.Audience),
		SessionID: rc.SessionID,
	}, nil
}

// isAccessTokenType implements the "typ" check of RFC 9068 §4. Media type
// names are case-insensitive (RFC 7515 §4.1.9), so is the comparison.
func isAccessTokenType(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}

// checkCompact rejects, before any decoding, tokens that are empty, larger
// than maxTokenSize, or not three parts of canonical unpadded base64url
// (RFC 7515 §2, §7.1), only the signature being allowed to be empty.
// Canonical means that no two distinct strings decode to the same token:
// encoding/base64 skips line breaks and ignores the unused low bits of the
// last character, so both are refused here. Other characters outside the
// base64url alphabet are left for the decoder to reject.
func checkCompact(token string) error {
	if token == "" {
		return newError(ErrMalformed, "empty token")
	}
	if len(token) > maxTokenSize {
		return newError(ErrMalformed, fmt.Sprintf("token larger than %d bytes", maxTokenSize))
	}
	if strings.ContainsAny(token, "\r\n") {
		return newError(ErrMalformed, "line break in token")
	}
	rest := token
	for i := 0; i < 3; i++ {
		part, tail, found := strings.Cut(rest, ".")
		if found == (i == 2) {
			return newError(ErrMalformed, "want three dot-separated parts")
		}
		// An empty signature is left for the algorithm check to reject, so
		// that an alg "none" token is reported as ErrAlgorithm.
		if !(i == 2 && part == "") && !canonicalTail(part) {
			return newError(ErrMalformed, fmt.Sprintf("part %d is not canonical base64url", i+1))
		}
		rest = tail
	}
	return nil
}

// canonicalTail reports whether s is non-empty, has a length unpadded
// base64 can have, and ends in a character whose unused bits are zero.
func canonicalTail(s string) bool {
	if s == "" || len(s)%4 == 1 {
		return false
	}
	last, ok := base64URLValue(s[len(s)-1])
	switch {
	case !ok:
		return false
	case len(s)%4 == 2: // one byte: 8 of 12 bits used
		return last&0x0f == 0
	case len(s)%4 == 3: // two bytes: 16 of 18 bits used
		return last&0x03 == 0
	}
	return true
}

// base64URLValue returns the 6-bit value of a base64url character (RFC 4648
// §5).
func base64URLValue(c byte) (byte, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A', true
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26, true
	case c >= '0' && c <= '9':
		return c - '0' + 52, true
	case c == '-':
		return 62, true
	case c == '_':
		return 63, true
	}
	return 0, false
}
