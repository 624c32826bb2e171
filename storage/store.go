package storage

import (
	"context"
	"time"
)

// Store is what every backend implements. Methods are safe for concurrent use
// by many goroutines and by several server instances sharing one database.
type Store interface {
	UserStore
	ClientStore
	TokenStore
	KeyStore
	SessionStore
	AttemptStore

	// Ping reports whether the backend is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// UserStore holds resource owners.
type UserStore interface {
	// GetUser returns the user with the given stable id.
	GetUser(ctx context.Context, id string) (*User, error)
	// GetUserByUsername returns the user with the given username (compared
	// in lower case).
	GetUserByUsername(ctx context.Context, username string) (*User, error)
	// UpsertUser creates the user or replaces the one with the same
	// username; the stored ID of an existing user is kept and returned.
	UpsertUser(ctx context.Context, u *User) (*User, error)
}

// ClientStore holds client registrations.
type ClientStore interface {
	GetClient(ctx context.Context, id string) (*Client, error)
	// UpsertClient creates or replaces the client with the same ID.
	UpsertClient(ctx context.Context, c *Client) error
}

// TokenStore holds tokens by signature.
type TokenStore interface {
	// CreateAccessToken stores an access-token record (kept until it
	// expires so that revocation and introspection can answer for it).
	CreateAccessToken(ctx context.Context, t *Token) error
	// GetAccessToken returns the record; ErrNotFound once expired.
	GetAccessToken(ctx context.Context, signature string) (*Token, error)
	DeleteAccessToken(ctx context.Context, signature string) error

	// CreateRefreshToken stores the first refresh token of a chain.
	CreateRefreshToken(ctx context.Context, t *Token) error
	// GetRefreshToken returns the record even when it was rotated or
	// revoked (callers need the chain to detect reuse), with
	// SuccessorRotated filled in when it was rotated; ErrNotFound when
	// absent or expired.
	GetRefreshToken(ctx context.Context, signature string) (*Token, error)
	DeleteRefreshToken(ctx context.Context, signature string) error
	// RotateRefreshToken exchanges r.Old for r.New in one atomic
	// operation. Exactly one of any number of concurrent callers presenting
	// the same active token wins. Within r.Grace after that rotation, a
	// caller presenting r.Old with the same r.New also succeeds (the
	// successor is stored once) as long as the successor is still active.
	// Everyone else gets ErrTokenRotated; a revoked token gives
	// ErrTokenRevoked and an unknown one ErrNotFound.
	RotateRefreshToken(ctx context.Context, r Rotation) error
	// RevokeChain revokes every refresh token and access token of the
	// request (grant) id. It is idempotent.
	RevokeChain(ctx context.Context, requestID string) error

	// CreateAuthCode stores an authorization code.
	CreateAuthCode(ctx context.Context, t *Token) error
	// GetAuthCode returns the code's record; a used code is returned with
	// ErrCodeUsed so that its grant can be revoked.
	GetAuthCode(ctx context.Context, signature string) (*Token, error)
	// UseAuthCode marks the code used; exactly one of concurrent callers
	// succeeds, the others get ErrCodeUsed.
	UseAuthCode(ctx context.Context, signature string) error

	// DeleteExpired removes records that expired before now (the janitor).
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
}

// KeyStore holds signing keys.
type KeyStore interface {
	// ListKeys returns every stored key, newest first.
	ListKeys(ctx context.Context) ([]Key, error)
	// CreateKey stores a new key; ErrConflict if the kid or the
	// generation exists. Of any number of concurrent callers inserting the
	// same generation exactly one succeeds: this is how instances sharing
	// a store agree on the next signing key.
	CreateKey(ctx context.Context, k *Key) error
	// UpdateKey replaces the stored key with the same ID; its generation
	// and creation time are kept. ErrNotFound if absent.
	UpdateKey(ctx context.Context, k *Key) error
	// DeleteKey removes a key; deleting an absent key is not an error.
	DeleteKey(ctx context.Context, id string) error
}

// SessionStore lists a user's login chains: the devices of /account/sessions.
type SessionStore interface {
	// ListSessions returns, for each live login chain of subject, its
	// newest refresh token (not rotated, not revoked, not expired): the
	// chain's client, start (ChainStartedAt), last use (CreatedAt), and the
	// user agent and IP of its last refresh. Newest first.
	ListSessions(ctx context.Context, subject string) ([]Token, error)
}

// AttemptStore holds login budgets: a number of password checks allowed per
// key (a username, a client IP) and time window.
type AttemptStore interface {
	// TakeAttempt takes one attempt from key's budget for the window that
	// contains now and reports whether one was left. However many callers
	// race, on one instance or several, at most limit calls per window
	// return true: each success is one atomic insert of a distinct slot.
	TakeAttempt(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, error)
	// ResetAttempts restores key's budget and forgets its lockouts (after
	// a successful login).
	ResetAttempts(ctx context.Context, key string) error
	// Lock records that key spent its budget: it stays locked until
	// until, and count says how many lockouts in a row it has had (the
	// next one lasts longer). The record is kept until forget.
	Lock(ctx context.Context, key string, until time.Time, count int, forget time.Time) error
	// LockedUntil returns key's lock: until when, and its lockout count;
	// the zero time and 0 when it has none (or forget has passed).
	LockedUntil(ctx context.Context, key string, now time.Time) (time.Time, int, error)
}
