package resource

import (
	"errors"
	"strings"
)

// Sentinel errors returned (wrapped) by [Validator.Validate] and
// [Claims.RequireScopes]. Test for them with [errors.Is]; the concrete error
// carries a short human-readable detail after the sentinel's text.
//
// Every error returned by Validate matches exactly one of ErrMalformed,
// ErrAlgorithm, ErrType, ErrInvalidSignature, ErrIssuer, ErrAudience,
// ErrNotYetValid or ErrExpired. ErrUnknownKey is reported together with
// ErrInvalidSignature (both match), so callers that only care whether the
// signature could be trusted need to test for ErrInvalidSignature alone.
//
// The text of every error returned by this package consists of printable
// ASCII without '"' or '\', at most 200 bytes long, so it can
// be copied verbatim into the error_description attribute of a
// WWW-Authenticate header (RFC 6750 §3).
var (
	// ErrMalformed means the token is not a well-formed JWS compact
	// serialization of a JWT (RFC 7515 §7.1, RFC 7519 §7.2), is too large,
	// lacks a required header or claim, or has a claim of the wrong type.
	ErrMalformed = errors.New("malformed token")

	// ErrAlgorithm means the JWS "alg" header names an algorithm that is
	// not allowed (see [Algorithms]; "none" and HMAC are never allowed), or
	// one that differs from the "alg" the issuer pinned on the key.
	ErrAlgorithm = errors.New("signing algorithm not allowed")

	// ErrType means the JWS "typ" header is not "at+jwt" (RFC 9068 §4):
	// the token is some other kind of JWT, such as an ID token, and must
	// not be accepted as an access token.
	ErrType = errors.New("token type is not at+jwt")

	// ErrInvalidSignature means the signature could not be verified with
	// the issuer's keys.
	ErrInvalidSignature = errors.New("invalid token signature")

	// ErrUnknownKey means the "kid" header names no key in the issuer's
	// key set, even after a refetch. Errors matching ErrUnknownKey also
	// match ErrInvalidSignature.
	ErrUnknownKey = errors.New("unknown signing key")

	// ErrIssuer means the "iss" claim is not exactly the issuer URL the
	// Validator was created for (RFC 9068 §4).
	ErrIssuer = errors.New("issuer mismatch")

	// ErrAudience means the "aud" claim does not contain the configured
	// audience (RFC 9068 §4, RFC 7519 §4.1.3).
	ErrAudience = errors.New("audience mismatch")

	// ErrNotYetValid means the "nbf" or "iat" claim lies in the future by
	// more than the configured leeway (RFC 7519 §4.1.5, §4.1.6).
	ErrNotYetValid = errors.New("token not yet valid")

	// ErrExpired means the current time is on or after "exp" plus the
	// configured leeway (RFC 7519 §4.1.4). Validate reports ErrExpired only
	// when every other check passed, so expiry is the token's only fault and
	// the client can usefully refresh it (see the Token-Expired header of
	// [Validator.Middleware]).
	ErrExpired = errors.New("token expired")

	// ErrInsufficientScope means the token is valid but lacks a scope the
	// resource requires (RFC 6750 §3.1).
	ErrInsufficientScope = errors.New("insufficient scope")
)

// maxDescriptionLen caps error texts so that a hostile token cannot inflate
// response headers through values echoed in error messages.
const maxDescriptionLen = 200

// tokenError is the concrete error returned by Validate and RequireScopes.
// Its text is sanitized at construction time; kind is the sentinel, and
// cause, if any, is kept for errors.Is/As but never rendered.
type tokenError struct {
	kind  error
	msg   string
	cause error
}

func (e *tokenError) Error() string { return e.msg }

func (e *tokenError) Unwrap() []error {
	errs := make([]error, 0, 3)
	errs = append(errs, e.kind)
	if e.kind == ErrUnknownKey {
		errs = append(errs, ErrInvalidSignature)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// newError returns an error matching kind whose text is kind's text followed
// by detail, sanitized for use in a WWW-Authenticate header.
func newError(kind error, detail string) error {
	return wrapError(kind, detail, nil)
}

// wrapError is newError with an underlying cause that is reachable through
// errors.Is/As but whose (possibly unsafe) text is not included.
func wrapError(kind error, detail string, cause error) error {
	msg := kind.Error()
	if detail != "" {
		msg += ": " + detail
	}
	return &tokenError{kind: kind, msg: sanitize(msg), cause: cause}
}

// sanitize maps s onto the character set allowed in an RFC 6750 §3
// error_description (%x20-21 / %x23-5B / %x5D-7E): a double quote becomes a
// single quote, a backslash a slash, and any other byte outside the set a
// question mark. The result is truncated to maxDescriptionLen bytes.
func sanitize(s string) string {
	if len(s) > maxDescriptionLen {
		s = s[:maxDescriptionLen]
	}
	if isSafe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteByte('\'')
		case c == '\\':
			b.WriteByte('/')
		case c < 0x20 || c > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// isSafe reports whether s needs no sanitizing.
func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// quoteDetail renders an untrusted value for inclusion in an error detail:
// truncated to a few dozen bytes and wrapped in single quotes.
func quoteDetail(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "..."
	}
	return "'" + s + "'"
}
