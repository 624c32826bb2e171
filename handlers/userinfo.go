package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ory/fosite"

	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/tokens"
)

// bearer authenticates a request by its access token (RFC 6750 §2.1): the
// JWT must verify and its record must still be active (not revoked).
func (d *Deps) bearer(r *http.Request) (*tokens.AccessClaims, error) {
	c, _, err := d.bearerRecord(r)
	return c, err
}

// bearerRecord is bearer that also returns the token's stored record (its
// RequestID names the login chain).
func (d *Deps) bearerRecord(r *http.Request) (*tokens.AccessClaims, *storage.Token, error) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, nil, errNoToken
	}
	c, err := d.AccessTokens.Verify(token)
	if err != nil {
		return nil, nil, err
	}
	sig := d.AccessTokens.AccessTokenSignature(r.Context(), token)
	rec, err := d.Storage.Store.GetAccessToken(r.Context(), sig)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, fosite.ErrTokenExpired.WithHint("The access token was revoked.")
		}
		return nil, nil, err
	}
	return c, rec, nil
}

var errNoToken = errors.New("no bearer token")

// bearerError answers RFC 6750 §3: 401 with a WWW-Authenticate challenge
// (no error attribute when no token was sent).
func bearerError(w http.ResponseWriter, err error) {
	if errors.Is(err, errNoToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="qazauth"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "A bearer access token is required.")
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="qazauth", error="invalid_token", error_description="The access token is invalid, expired or revoked."`)
	writeError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid, expired or revoked.")
}

// userinfo serves the OIDC UserInfo endpoint (OIDC Core §5.3): claims of
// the token's user, by granted scope.
func userinfo(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		c, err := d.bearer(r)
		if err != nil {
			bearerError(w, err)
			return
		}
		scopes := strings.Fields(c.Scope)
		has := func(s string) bool { return slices.Contains(scopes, s) }
		if !has("openid") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="qazauth", error="insufficient_scope", scope="openid"`)
			writeError(w, http.StatusForbidden, "insufficient_scope", "The access token lacks the openid scope.")
			return
		}
		u, err := d.Storage.Store.GetUser(r.Context(), c.Subject)
		if err != nil || u.Disabled {
			bearerError(w, fosite.ErrInvalidRequest)
			return
		}
		out := map[string]any{"sub": u.ID}
		if has("profile") {
			out["preferred_username"] = u.Username
		}
		if has("email") && u.Email != "" {
			out["email"] = u.Email
			out["email_verified"] = u.EmailVerified
		}
		if has("roles") {
			out["roles"] = append([]string{}, u.Roles...)
		}
		writeJSON(w, http.StatusOK, out)
	})
}
