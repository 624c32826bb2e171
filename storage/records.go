package storage

import "time"

// User is a resource owner who signs in with a username and password.
type User struct {
	// ID is the stable subject identifier (`sub`); it never changes, even
	// when the username does.
	ID string
	// Username is unique and stored in lower case.
	Username      string
	PasswordHash  string // argon2id PHC string; never the password
	Email         string
	EmailVerified bool
	Roles         []string
	Disabled      bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Client is an OAuth 2.0 client registration.
type Client struct {
	ID string
	// SecretHash is the argon2id PHC string of the client secret; empty for
	// public clients.
	SecretHash             string
	Public                 bool
	FirstParty             bool
	GrantTypes             []string
	ResponseTypes          []string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
	Audience               []string
	// Lifetimes override the server defaults when non-zero.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	SessionMaxAge   time.Duration
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Token is a stored access token, refresh token or authorization code,
// looked up by its signature (a keyed hash of the token; never the token).
type Token struct {
	Signature string
	// RequestID identifies the grant: every token descended from one login
	// shares it, so it names the refresh-token chain.
	RequestID string
	ClientID  string
	Subject   string
	CreatedAt time.Time
	ExpiresAt time.Time
	// Data is the serialized request (scopes, audience, session claims).
	Data []byte

	// Refresh tokens only.
	// ChainStartedAt is when the user logged in; no token of the chain
	// outlives ChainStartedAt + the session's maximum age.
	ChainStartedAt time.Time
	// RotatedAt is set once the token was exchanged for its successor.
	RotatedAt time.Time
	// Successor is the signature of the token it was rotated to.
	Successor string
	// SuccessorRotated reports, on read, whether Successor has itself been
	// rotated or revoked: only an immediate predecessor gets grace.
	SuccessorRotated bool
	Revoked          bool
	// UserAgent and IP describe the client of the last refresh (devices).
	UserAgent string
	IP        string
}

// Active reports whether the token may be used at now.
func (t *Token) Active(now time.Time) bool {
	return !t.Revoked && t.RotatedAt.IsZero() && now.Before(t.ExpiresAt)
}

// Rotation is the atomic exchange of a refresh token for its successor,
// together with the access token issued alongside it.
type Rotation struct {
	// Old is the signature of the refresh token presented.
	Old string
	// New is the successor refresh token. Its signature is derived from the
	// old token, so concurrent rotations of one token within the grace
	// window produce the same successor and the chain never forks.
	New Token
	// Access is the access token issued with New (may be empty).
	Access *Token
	// Now is the decision time.
	Now time.Time
	// Grace is how long after a rotation the old token may be presented
	// again and receive the same successor; 0 disables.
	Grace time.Duration
}

// Key is a signing key. The private key is stored only encrypted.
//
// A key's lifecycle state (next, current, retired, removed) is derived by
// package keys from Generation and the timestamps, so that promotion and
// retirement need no write: every instance reading the same records at the
// same time reaches the same answer. The only once-only decision, creating
// the key of the next generation, is an insert on the unique Generation.
type Key struct {
	ID        string // kid: the RFC 7638 thumbprint of the public key
	Algorithm string // "RS256"
	// Generation numbers keys in creation order (1, 2, …) and is unique
	// in the store: of two inserts of the same generation one gets
	// ErrConflict. It never changes.
	Generation int64
	// State is informational: the state the last writer saw ("next",
	// "current" or "retired"). The live state is derived (see above).
	State string
	// PrivateKey is the PKCS#8 DER private key, encrypted with AES-256-GCM
	// under a key derived from QAZAUTH_SECRET.
	PrivateKey []byte
	// PublicJWK is the public key as a JSON Web Key (RFC 7517).
	PublicJWK []byte
	CreatedAt time.Time
	// ActivatesAt is when the key starts signing (and the key of the
	// previous generation stops).
	ActivatesAt time.Time
	// RetiresAt and RemoveAt are explicit operator decisions (`qazauth
	// keys retire`); zero means "derived from the schedule".
	RetiresAt time.Time
	RemoveAt  time.Time
}

// Key states, as recorded in Key.State.
const (
	KeyNext    = "next"
	KeyCurrent = "current"
	KeyRetired = "retired"
)
