package handlers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// Browser sign-in state: a login session cookie (so a second authorization
// needs no password) and a CSRF cookie for the forms.
const (
	sessionCookie = "qazauth_session"
	csrfCookie    = "qazauth_csrf"
	csrfField     = "csrf_token"
	// BrowserSessionTTL bounds a browser login: after it, the user signs in
	// again even if the cookie survives.
	BrowserSessionTTL = 12 * time.Hour
	// loginPrefix namespaces login sessions in the code table: both are
	// short-lived records looked up by the hash of a random secret.
	loginPrefix = "login:"
)

// browserSession is a signed-in browser.
type browserSession struct {
	SID      string    `json:"sid"` // public id (OIDC sid), not the cookie
	Subject  string    `json:"sub"`
	AuthTime time.Time `json:"auth_time"`
}

var b64 = base64.RawURLEncoding

// sessionKey is what is stored for a cookie value: its SHA-256 (the value
// has 256 bits of entropy, so no key is needed to make the hash safe).
func sessionKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return loginPrefix + b64.EncodeToString(sum[:])
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return b64.EncodeToString(b[:])
}

func (d *Deps) secureCookies() bool { return strings.HasPrefix(d.Issuer, "https://") }

// loadBrowserSession returns the browser's login session, or nil.
func (d *Deps) loadBrowserSession(ctx context.Context, r *http.Request) *browserSession {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) != 43 {
		return nil
	}
	t, err := d.Storage.Store.GetAuthCode(ctx, sessionKey(c.Value))
	if err != nil {
		return nil
	}
	var s browserSession
	if json.Unmarshal(t.Data, &s) != nil || s.Subject == "" {
		return nil
	}
	return &s
}

// startBrowserSession records a login and sets its cookie.
func (d *Deps) startBrowserSession(ctx context.Context, w http.ResponseWriter, u *storage.User) (*browserSession, error) {
	now := d.now().UTC()
	s := &browserSession{SID: randomToken()[:22], Subject: u.ID, AuthTime: now.Truncate(time.Second)}
	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	value := randomToken()
	err = d.Storage.Store.CreateAuthCode(ctx, &storage.Token{
		Signature: sessionKey(value), RequestID: s.SID, Subject: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(BrowserSessionTTL), Data: data,
	})
	if err != nil {
		return nil, err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", MaxAge: int(BrowserSessionTTL.Seconds()),
		HttpOnly: true, Secure: d.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
	return s, nil
}

// endBrowserSession forgets the login (server side) and clears its cookie.
func (d *Deps) endBrowserSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: d.secureCookies(), SameSite: http.SameSiteLaxMode})
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) != 43 {
		return nil
	}
	err = d.Storage.Store.UseAuthCode(ctx, sessionKey(c.Value))
	if err != nil && !errors.Is(err, storage.ErrCodeUsed) && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

// csrfToken returns the browser's CSRF token, issuing one if needed
// (double-submit: the HttpOnly cookie and the hidden form field must match).
func (d *Deps) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	v := randomToken()
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: "/oauth2/",
		HttpOnly: true, Secure: d.secureCookies(), SameSite: http.SameSiteLaxMode})
	return v
}

// validCSRF reports whether the form's token matches the cookie.
func validCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) != 43 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get(csrfField))) == 1
}
