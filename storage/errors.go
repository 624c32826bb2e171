package storage

import "errors"

// Sentinel errors that callers branch on. Backends return them (wrapped or
// not); the HTTP edge maps them to RFC 6749 error codes.
var (
	// ErrNotFound means no record has the key, or it has expired.
	ErrNotFound = errors.New("storage: not found")

	// ErrConflict means a record with the same unique key already exists.
	ErrConflict = errors.New("storage: conflict")

	// ErrTokenRotated means the refresh token was rotated by another request
	// and this request lost the race (or arrived after the grace window).
	ErrTokenRotated = errors.New("storage: refresh token already rotated")

	// ErrTokenRevoked means the token's chain was revoked.
	ErrTokenRevoked = errors.New("storage: token revoked")

	// ErrCodeUsed means the authorization code was already redeemed.
	ErrCodeUsed = errors.New("storage: authorization code already used")

	// ErrUnavailable means the backend cannot be reached right now; the
	// request may be retried later (RFC 6749 temporarily_unavailable).
	ErrUnavailable = errors.New("storage: backend unavailable")
)
