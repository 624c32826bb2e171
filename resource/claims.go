package resource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Claims are the validated claims of an access token (RFC 9068 §2.2), typed
// so that handlers never touch raw JSON.
type Claims struct {
	// Subject ("sub") identifies the user, or the client itself for
	// client-credentials tokens.
	Subject string
	// ClientID ("client_id") is the OAuth client the token was issued to.
	ClientID string
	// Scopes are the space-separated entries of the "scope" claim.
	Scopes []string
	// Roles ("roles") are the user's roles, if any.
	Roles []string
	// Username ("preferred_username") and Email ("email") describe the
	// user; both are empty for client-credentials tokens.
	Username string
	Email    string
	// ExpiresAt ("exp") and IssuedAt ("iat") bound the token's lifetime.
	ExpiresAt time.Time
	IssuedAt  time.Time
	// JTI ("jti") uniquely identifies the token, for example for replay
	// detection or audit logs.
	JTI string
	// Audience ("aud") lists the resource servers the token is meant for.
	Audience []string
	// SessionID ("sid") identifies the user's session at the issuer, if
	// the token was issued within one.
	SessionID string
}

// HasScope reports whether the token was granted scope s.
func (c *Claims) HasScope(s string) bool {
	return slices.Contains(c.Scopes, s)
}

// HasRole reports whether the "roles" claim contains role.
func (c *Claims) HasRole(role string) bool {
	return slices.Contains(c.Roles, role)
}

// RequireScopes returns nil if the token was granted every one of scopes,
// and otherwise an error matching [ErrInsufficientScope] that names the
// missing ones. Handlers that need a scope only for some methods or inputs
// call it after [Validator.Middleware] has run.
func (c *Claims) RequireScopes(scopes ...string) error {
	var missing []string
	for _, s := range scopes {
		if !c.HasScope(s) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return newError(ErrInsufficientScope, "missing "+strings.Join(missing, " "))
}

// claimsKey is the context key for Claims; its type is unexported so that
// only this package can set or read the value.
type claimsKey struct{}

// WithClaims returns a copy of ctx carrying c. [Validator.Middleware] calls
// it for every accepted request; tests of downstream handlers call it to
// fake an authenticated request without minting tokens.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the claims that [Validator.Middleware] (or
// [WithClaims]) stored in ctx, and whether there were any.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// rawClaims is the JSON shape of an RFC 9068 access token. Decoding into a
// struct instead of map[string]any keeps validation cheap and type-checks
// every claim: a claim of the wrong JSON type makes the token malformed.
//
// encoding/json keeps the last of duplicate member names, which is what
// RFC 7519 §4 requires of parsers that do not reject duplicates. It also
// matches member names case-insensitively; as claims are decoded only after
// the issuer's signature has been verified, no client can exploit that.
type rawClaims struct {
	Issuer    string      `json:"iss"`
	Subject   string      `json:"sub"`
	Audience  audience    `json:"aud"`
	Expiry    numericDate `json:"exp"`
	NotBefore numericDate `json:"nbf"`
	IssuedAt  numericDate `json:"iat"`
	JTI       string      `json:"jti"`
	ClientID  string      `json:"client_id"`
	Scope     string      `json:"scope"`
	Username  string      `json:"preferred_username"`
	Email     string      `json:"email"`
	Roles     []string    `json:"roles"`
	SessionID string      `json:"sid"`
}

// audience is the "aud" claim, which RFC 7519 §4.1.3 allows to be either a
// single string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		// Fast path for the common case of a plain string; the decoder has
		// already checked that b is valid JSON.
		if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			*a = audience{string(inner)}
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return errBadAudience
	}
	*a = ss
	return nil
}

// Errors of the custom claim decoders.
var (
	errBadAudience = errors.New("aud is neither a string nor an array of strings")
	errBadDate     = errors.New("a date claim is not a valid NumericDate")
)

// maxNumericDate is 9999-12-31T23:59:59Z; later dates are rejected rather
// than risking overflow when converting to time.Time.
const maxNumericDate = 253402300799

// numericDate is an RFC 7519 §2 NumericDate: seconds since the epoch as a
// JSON number, possibly with a fraction. set distinguishes an absent (or
// null) claim from the epoch.
type numericDate struct {
	t   time.Time
	set bool
}

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return errBadDate
	}
	sec, frac := math.Modf(f)
	d.t = time.Unix(int64(sec), int64(frac*1e9))
	d.set = true
	return nil
}

// decodeClaims decodes a JWT Claims Set, which RFC 7519 §7.2 requires to be
// a JSON object. The returned error's text names the offending claim but
// no Go internals.
func decodeClaims(payload []byte, rc *rawClaims) error {
	trimmed := bytes.TrimLeft(payload, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("not a JSON object")
	}
	err := json.Unmarshal(trimmed, rc)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		return fmt.Errorf("claim %s has the wrong type", typeErr.Field)
	case errors.Is(err, errBadDate), errors.Is(err, errBadAudience):
		return err
	}
	return fmt.Errorf("invalid JSON: %w", err)
}
