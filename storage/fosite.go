package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"

	"github.com/qaznat/qazauth/passwords"
)

// Fosite adapts a Store to the storage interfaces of fosite. It holds the
// policy that is the same for every backend (grace window, sessions,
// password checks); the backend makes the atomic decisions.
type Fosite struct {
	Store Store
	// Passwords verifies user passwords (password grant, login page).
	Passwords *passwords.Hasher
	// Grace is QAZAUTH_REFRESH_REUSE_GRACE.
	Grace time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Budget limits password checks per username and per client IP; nil
	// disables it.
	Budget *LoginBudget

	clients clientCache
}

// LoginBudget is QAZAUTH_LOGIN_MAX_FAILURES attempts per username and per
// client IP in each QAZAUTH_LOGIN_WINDOW. The attempt is taken from the
// budget BEFORE the password is checked, atomically in the store, so N
// parallel guesses cost at most Max password checks however many instances
// share the store. A success restores the username's budget.
type LoginBudget struct {
	Max    int
	Window time.Duration
	// Lockout is how long a username stays locked once its budget is
	// spent; each further lockout in a row doubles it (at most a day).
	Lockout time.Duration
	// OnLockout is called (without the password) when a login is refused
	// because a budget is spent; kind is "username" or "ip".
	OnLockout func(ctx context.Context, kind, username, ip string)
}

// ErrLockedOut is wrapped into the fosite.ErrNotFound of a login refused
// by the budget: callers answer exactly as for a wrong password.
var ErrLockedOut = errors.New("storage: login budget spent")

// NewFosite returns an adapter over s; clientTTL bounds how long a client
// registration is cached in memory.
func NewFosite(s Store, h *passwords.Hasher, grace, clientTTL time.Duration) *Fosite {
	return &Fosite{Store: s, Passwords: h, Grace: grace, clients: clientCache{ttl: clientTTL}}
}

var (
	_ fosite.Storage                                      = (*Fosite)(nil)
	_ oauth2.CoreStorage                                  = (*Fosite)(nil)
	_ oauth2.TokenRevocationStorage                       = (*Fosite)(nil)
	_ oauth2.ResourceOwnerPasswordCredentialsGrantStorage = (*Fosite)(nil)
	_ transactional                                       = (*Fosite)(nil)
	_ pkce.PKCERequestStorage                             = (*Fosite)(nil)
	_ openid.OpenIDConnectRequestStorage                  = (*Fosite)(nil)
)

func (f *Fosite) now() time.Time {
	if f.Now != nil {
		return f.Now().UTC()
	}
	return time.Now().UTC()
}

// ForgetClient drops a client from the in-memory cache (after an upsert).
func (f *Fosite) ForgetClient(id string) { f.clients.forget(id) }

// toFositeErr maps backend errors to the ones fosite branches on.
func toFositeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return fosite.ErrNotFound.WithWrap(err)
	default:
		return err
	}
}

// record builds a token record for r. Within a refresh transaction the
// access and refresh records share one requester: it is encoded once.
func (f *Fosite) record(ctx context.Context, signature string, tt fosite.TokenType, r fosite.Requester) (*Token, error) {
	var (
		data []byte
		sess *Session
		err  error
	)
	if t := txFrom(ctx); t != nil && t.encodedFor == r && t.encoded != nil {
		data, sess = t.encoded, t.encodedSession
	} else if data, sess, err = encodeRequest(r); err != nil {
		return nil, err
	} else if t != nil {
		t.encodedFor, t.encoded, t.encodedSession = r, data, sess
	}
	now := f.now()
	exp := sess.GetExpiresAt(tt)
	if exp.IsZero() {
		return nil, fmt.Errorf("store %s: session has no expiry", tt)
	}
	t := &Token{
		Signature:      signature,
		RequestID:      r.GetID(),
		ClientID:       r.GetClient().GetID(),
		Subject:        sess.Subject,
		CreatedAt:      now,
		ExpiresAt:      exp,
		Data:           data,
		ChainStartedAt: sess.AuthTime,
	}
	if info, ok := ctx.Value(clientInfoKey{}).(ClientInfo); ok {
		t.UserAgent, t.IP = info.UserAgent, info.IP
	}
	return t, nil
}

// ClientInfo describes the HTTP client of a token request; it is stored with
// refresh tokens so that a user can recognise their devices.
type ClientInfo struct {
	UserAgent string
	IP        string
}

type clientInfoKey struct{}

// WithClientInfo returns ctx carrying info for the tokens stored under it.
func WithClientInfo(ctx context.Context, info ClientInfo) context.Context {
	if len(info.UserAgent) > 256 {
		info.UserAgent = info.UserAgent[:256]
	}
	return context.WithValue(ctx, clientInfoKey{}, info)
}

// --- access tokens ---

// CreateAccessTokenSession implements oauth2.AccessTokenStorage. Inside a
// refresh transaction the record is written with the rotation, atomically.
func (f *Fosite) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	t, err := f.record(ctx, signature, fosite.AccessToken, r)
	if err != nil {
		return err
	}
	if tx := txFrom(ctx); tx != nil && tx.rotateOld != "" {
		tx.access = t
		return nil
	}
	return f.Store.CreateAccessToken(ctx, t)
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage.
func (f *Fosite) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	t, err := f.Store.GetAccessToken(ctx, signature)
	if err != nil {
		return nil, toFositeErr(err)
	}
	req, err := f.decodeRequest(ctx, t.Data, session)
	if err != nil {
		return nil, toFositeErr(err)
	}
	if t.Revoked {
		return req, fosite.ErrInactiveToken
	}
	return req, nil
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage.
func (f *Fosite) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return toFositeErr(f.Store.DeleteAccessToken(ctx, signature))
}

// RevokeAccessToken implements oauth2.TokenRevocationStorage: revoking an
// access token ends its whole grant, refresh tokens included (RFC 7009 §2.1
// allows it; a leaked access token means a compromised client).
func (f *Fosite) RevokeAccessToken(ctx context.Context, requestID string) error {
	return toFositeErr(f.Store.RevokeChain(ctx, requestID))
}

// --- refresh tokens ---

// CreateRefreshTokenSession implements oauth2.RefreshTokenStorage. Inside a
// refresh transaction it becomes the successor of the rotated token.
func (f *Fosite) CreateRefreshTokenSession(ctx context.Context, signature, _ string, r fosite.Requester) error {
	t, err := f.record(ctx, signature, fosite.RefreshToken, r)
	if err != nil {
		return err
	}
	if t.ChainStartedAt.IsZero() {
		t.ChainStartedAt = t.CreatedAt
	}
	if tx := txFrom(ctx); tx != nil && tx.rotateOld != "" {
		tx.refresh = t
		return nil
	}
	return f.Store.CreateRefreshToken(ctx, t)
}

// refreshGrantKey marks a context as serving the refresh_token grant: only
// there does the grace window apply. Introspection and revocation see a
// rotated token as inactive.
type refreshGrantKey struct{}

// WithRefreshGrant returns ctx for handling a refresh_token grant request.
func WithRefreshGrant(ctx context.Context) context.Context {
	return context.WithValue(ctx, refreshGrantKey{}, true)
}

// GetRefreshTokenSession implements oauth2.RefreshTokenStorage. A rotated
// token is reported inactive (fosite then revokes the chain: RFC 9700
// §4.14.2), except, in the refresh grant, the immediate predecessor of the
// newest token within the grace window.
func (f *Fosite) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	t, err := f.Store.GetRefreshToken(ctx, signature)
	if err != nil {
		return nil, toFositeErr(err)
	}
	req, err := f.decodeRequest(ctx, t.Data, session)
	if err != nil {
		return nil, toFositeErr(err)
	}
	switch {
	case t.Revoked:
		return req, fosite.ErrInactiveToken.WithWrap(ErrTokenRevoked)
	case t.RotatedAt.IsZero():
		return req, nil
	case f.inGrace(ctx, t):
		return req, nil
	default:
		return req, fosite.ErrInactiveToken.WithWrap(ErrTokenRotated)
	}
}

func (f *Fosite) inGrace(ctx context.Context, t *Token) bool {
	inGrant, _ := ctx.Value(refreshGrantKey{}).(bool)
	return inGrant && f.Grace > 0 && !t.SuccessorRotated && f.now().Before(t.RotatedAt.Add(f.Grace))
}

// DeleteRefreshTokenSession implements oauth2.RefreshTokenStorage.
func (f *Fosite) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	return toFositeErr(f.Store.DeleteRefreshToken(ctx, signature))
}

// RotateRefreshToken implements oauth2.RefreshTokenStorage. fosite calls it
// inside BeginTX/Commit; the rotation is decided at Commit, in one atomic
// backend operation together with the successor and the access token.
func (f *Fosite) RotateRefreshToken(ctx context.Context, _ string, signature string) error {
	tx := txFrom(ctx)
	if tx == nil {
		return errors.New("rotate refresh token: no transaction in context")
	}
	tx.rotateOld = signature
	return nil
}

// RevokeRefreshToken implements oauth2.TokenRevocationStorage: the whole
// chain of the grant is revoked.
func (f *Fosite) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return toFositeErr(f.Store.RevokeChain(ctx, requestID))
}

// --- transactions ---

// transactional mirrors fosite's storage.Transactional, whose package drags
// fosite's test helpers into the build.
type transactional interface {
	BeginTX(ctx context.Context) (context.Context, error)
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// tx collects the writes of one refresh so that they are applied at Commit
// as one atomic rotation.
type tx struct {
	rotateOld string
	refresh   *Token
	access    *Token

	// The last requester encoded in this transaction, and its encoding.
	encodedFor     fosite.Requester
	encoded        []byte
	encodedSession *Session
}

type txKey struct{}

func txFrom(ctx context.Context) *tx {
	t, _ := ctx.Value(txKey{}).(*tx)
	return t
}

// BeginTX implements storage.Transactional.
func (f *Fosite) BeginTX(ctx context.Context) (context.Context, error) {
	return context.WithValue(ctx, txKey{}, &tx{}), nil
}

// Commit implements storage.Transactional: a pending rotation is applied
// with one atomic Store.RotateRefreshToken.
func (f *Fosite) Commit(ctx context.Context) error {
	t := txFrom(ctx)
	if t == nil || t.rotateOld == "" {
		return nil
	}
	if t.refresh == nil {
		return errors.New("commit rotation: no successor refresh token")
	}
	err := f.Store.RotateRefreshToken(ctx, Rotation{
		Old:    t.rotateOld,
		New:    *t.refresh,
		Access: t.access,
		Now:    f.now(),
		Grace:  f.Grace,
	})
	*t = tx{}
	if err != nil {
		return fmt.Errorf("commit rotation: %w", err)
	}
	return nil
}

// Rollback implements storage.Transactional: pending writes are dropped.
func (f *Fosite) Rollback(ctx context.Context) error {
	if t := txFrom(ctx); t != nil {
		*t = tx{}
	}
	return nil
}

// --- resource owner password credentials ---

// Authenticate implements the password grant's credential check. An unknown
// or disabled user costs the same argon2id work as a wrong password and
// yields the same fosite.ErrNotFound, so neither status nor timing reveals
// whether a username exists. On success the user's claims are put into the
// session of the access request in ctx.
func (f *Fosite) Authenticate(ctx context.Context, username, password string) (string, error) {
	u, err := f.CheckPassword(ctx, username, password)
	if err != nil {
		return "", err
	}
	if ar, ok := ctx.Value(fosite.AccessRequestContextKey).(fosite.AccessRequester); ok {
		if s, ok := ar.GetSession().(*Session); ok {
			FillSession(s, u, f.now())
		}
	}
	return u.ID, nil
}

// CheckPassword returns the user if password is theirs; fosite.ErrNotFound
// otherwise (unknown user, disabled user, wrong password, spent login
// budget alike).
func (f *Fosite) CheckPassword(ctx context.Context, username, password string) (*User, error) {
	username = strings.ToLower(username)
	if err := f.takeAttempt(ctx, username); err != nil {
		return nil, err
	}
	u, err := f.Store.GetUserByUsername(ctx, username)
	switch {
	case errors.Is(err, ErrNotFound):
		if derr := f.Passwords.VerifyDummy(ctx, password); derr != nil && !errors.Is(derr, passwords.ErrMismatch) {
			return nil, derr
		}
		return nil, fosite.ErrNotFound
	case err != nil:
		return nil, err
	}
	verr := f.Passwords.Verify(ctx, u.PasswordHash, password)
	switch {
	case verr == nil && !u.Disabled:
		if f.Budget != nil {
			if err := f.Store.ResetAttempts(ctx, "user:"+username); err != nil {
				return nil, err
			}
		}
		return u, nil
	case verr == nil, errors.Is(verr, passwords.ErrMismatch), errors.Is(verr, passwords.ErrMalformedHash):
		return nil, fosite.ErrNotFound
	default:
		return nil, verr
	}
}

// takeAttempt takes one attempt from the username's and the client IP's
// budgets. Unknown usernames have budgets too, so a lockout reveals nothing
// about which users exist.
func (f *Fosite) takeAttempt(ctx context.Context, username string) error {
	b := f.Budget
	if b == nil {
		return nil
	}
	now := f.now()
	ip := ""
	if info, ok := ctx.Value(clientInfoKey{}).(ClientInfo); ok {
		ip = info.IP
	}
	userKey := "user:" + username
	until, count, err := f.Store.LockedUntil(ctx, userKey, now)
	if err != nil {
		return err
	}
	if now.Before(until) {
		return fosite.ErrNotFound.WithWrap(ErrLockedOut)
	}
	ok, err := f.Store.TakeAttempt(ctx, userKey, b.Max, b.Window, now)
	if err != nil {
		return err
	}
	if !ok {
		d := b.Lockout << min(count, 10)
		if d <= 0 || d > 24*time.Hour {
			d = 24 * time.Hour
		}
		if err := f.Store.Lock(ctx, userKey, now.Add(d), count+1, now.Add(d+24*time.Hour)); err != nil {
			return err
		}
	}
	kind := "username"
	if ok && ip != "" {
		// An address may front many users (NAT): its budget is ten
		// usernames' worth, and only spraying exhausts it.
		ok, err = f.Store.TakeAttempt(ctx, "ip:"+ip, 10*b.Max, b.Window, now)
		if err != nil {
			return err
		}
		kind = "ip"
	}
	if ok {
		return nil
	}
	if b.OnLockout != nil {
		b.OnLockout(ctx, kind, username, ip)
	}
	return fosite.ErrNotFound.WithWrap(ErrLockedOut)
}

// FillSession copies the user's claims into s at login time.
func FillSession(s *Session, u *User, now time.Time) {
	s.Subject = u.ID
	s.Username = u.Username
	s.Email = u.Email
	s.EmailVerified = u.EmailVerified
	s.Roles = append([]string(nil), u.Roles...)
	if s.AuthTime.IsZero() {
		s.AuthTime = now.Truncate(time.Second)
	}
}
