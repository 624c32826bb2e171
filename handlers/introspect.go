package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"github.com/qaznat/qazauth/storage"
)

// introspectHandler serves /oauth2/introspect (RFC 7662). Only confidential
// clients authenticated with HTTP Basic may introspect (§2.1: the endpoint
// MUST require authorization); resource servers are registered as such.
type introspectHandler struct{ d *Deps }

// introspection is the RFC 7662 §2.2 response.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	TokenUse  string   `json:"token_use,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	JTI       string   `json:"jti,omitempty"`
}

func (h *introspectHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if code, desc, ok := parseForm(w, r); !ok {
		writeError(w, http.StatusBadRequest, code, desc)
		return
	}
	if _, _, ok := r.BasicAuth(); !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="qazauth"`)
		writeError(w, http.StatusUnauthorized, "invalid_client", "Client authentication with HTTP Basic is required.")
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "The token parameter is missing.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestDeadline)
	defer cancel()
	r = r.WithContext(ctx)
	resp, err := h.d.Provider.NewIntrospectionRequest(ctx, r, storage.NewSession())
	if unavailable(err) {
		// Neither a verdict on the caller's credentials nor "inactive".
		h.d.Log.WarnContext(r.Context(), "introspection failed: store unavailable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The token cannot be introspected right now; retry shortly.")
		return
	}
	// Only the outermost error says what failed: an inactive token wraps
	// the causes of its inactivity, which may look like authorization
	// errors.
	top := &fosite.RFC6749Error{}
	if err != nil {
		top = fosite.ErrorToRFC6749Error(err)
	}
	switch {
	case err == nil:
	case top.ErrorField == fosite.ErrRequestUnauthorized.ErrorField:
		w.Header().Set("WWW-Authenticate", `Basic realm="qazauth"`)
		writeError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	case top.ErrorField == fosite.ErrInvalidRequest.ErrorField:
		writeError(w, http.StatusBadRequest, "invalid_request", top.GetDescription())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if err != nil || !resp.IsActive() {
		writeJSON(w, http.StatusOK, introspection{Active: false})
		return
	}
	ar := resp.GetAccessRequester()
	out := introspection{
		Active:   true,
		Scope:    strings.Join(ar.GetGrantedScopes(), " "),
		ClientID: ar.GetClient().GetID(),
		Username: ar.GetSession().GetUsername(),
		Sub:      ar.GetSession().GetSubject(),
		Aud:      ar.GetGrantedAudience(),
		Iss:      h.d.Issuer,
		Iat:      ar.GetRequestedAt().Unix(),
	}
	switch resp.GetTokenUse() {
	case fosite.AccessToken:
		out.TokenType, out.TokenUse = "Bearer", "access_token"
		// fosite has verified this token's signature and expiry just now.
		if c, err := h.d.AccessTokens.ClaimsOf(token); err == nil {
			out.Exp, out.Iat, out.JTI, out.Sub = c.Expiry, c.IssuedAt, c.ID, c.Subject
		} else {
			writeJSON(w, http.StatusOK, introspection{Active: false})
			return
		}
	case fosite.RefreshToken:
		out.TokenType, out.TokenUse = "refresh_token", "refresh_token"
		out.Exp = ar.GetSession().GetExpiresAt(fosite.RefreshToken).Unix()
	}
	writeJSON(w, http.StatusOK, out)
}
