package handlers

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/ory/fosite"

	"github.com/qaznat/qazauth/passwords"
	"github.com/qaznat/qazauth/storage"
)

// tokenHandler serves /oauth2/token (RFC 6749 §3.2).
type tokenHandler struct{ d *Deps }

func (h *tokenHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if code, desc, ok := parseForm(w, r); !ok {
		h.d.Metrics.TokenErrors.WithLabelValues("", code).Inc()
		writeError(w, http.StatusBadRequest, code, desc)
		return
	}
	grant := r.PostForm.Get("grant_type")
	if grant == "" {
		h.fail(w, r, "", fosite.ErrInvalidRequest.WithHint("The grant_type parameter is missing."))
		return
	}
	if !slices.Contains(h.d.GrantTypes, grant) {
		h.fail(w, r, "", fosite.ErrUnsupportedGrantType)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), requestDeadline)
	defer cancel()
	r = r.WithContext(ctx)
	ctx = storage.WithClientInfo(ctx, storage.ClientInfo{UserAgent: r.UserAgent(), IP: h.d.ClientIP(r)})
	if grant == "refresh_token" {
		ctx = storage.WithRefreshGrant(ctx)
	}
	session := storage.NewSession()
	ar, err := h.d.Provider.NewAccessRequest(ctx, r, session)
	if err != nil {
		h.fail(w, r, grant, err)
		return
	}
	// The refresh grant replaces the session with the stored one.
	if s, ok := ar.GetSession().(*storage.Session); ok {
		session = s
	}
	if err := h.applyPolicy(ar, session); err != nil {
		h.fail(w, r, grant, err)
		return
	}
	resp, err := h.d.Provider.NewAccessResponse(ctx, ar)
	if err != nil {
		h.fail(w, r, grant, err)
		return
	}
	// fosite truncates expires_in to whole seconds below the real
	// lifetime: a 1 s token would be announced as 0, which OAuth libraries
	// read as "never expires". Announce the time actually left, rounded up.
	if exp := ar.GetSession().GetExpiresAt(fosite.AccessToken); !exp.IsZero() {
		left := math.Ceil(exp.Sub(h.d.now()).Seconds())
		resp.SetExpiresIn(time.Duration(max(left, 1)) * time.Second)
	}
	h.d.Metrics.TokensIssued.WithLabelValues(grant).Inc()
	h.d.Provider.WriteAccessResponse(ctx, w, ar, resp)
}

// applyPolicy grants scopes and audience on a new password or
// client_credentials grant (the code flow grants at the authorization
// endpoint; the refresh grant keeps what was granted) and bounds every
// token's lifetime by the session's absolute end.
func (h *tokenHandler) applyPolicy(ar fosite.AccessRequester, s *storage.Session) error {
	client := storage.ClientRecord(ar.GetClient())
	if client == nil {
		return fosite.ErrInvalidClient
	}
	now := h.d.now().UTC()
	// fosite rounds expiries to the nearest second, so a token could live
	// up to half a second less than its TTL; round up instead: a token
	// lives at least its TTL.
	gt := fosite.GrantType(ar.GetGrantTypes()[0])
	ttl := fosite.GetEffectiveLifespan(ar.GetClient(), gt, fosite.AccessToken, h.d.AccessTokenTTL)
	if ttl > 0 {
		s.SetExpiresAt(fosite.AccessToken, ceilSecond(now.Add(ttl)))
	}
	if ar.GetGrantTypes().ExactOne("password") || ar.GetGrantTypes().ExactOne("client_credentials") {
		grant(h.d, ar, client, ar.GetRequestedScopes(), ar.GetRequestedAudience())
		if s.Subject != "" {
			startSession(h.d, s, client, ar, s.AuthTime, now)
		}
	}
	return capLifetimes(s, now)
}

// ceilSecond rounds t up to a whole second (JWT times are whole seconds).
func ceilSecond(t time.Time) time.Time {
	if tr := t.Truncate(time.Second); !tr.Equal(t) {
		return tr.Add(time.Second)
	}
	return t
}

// fail maps err to its RFC 6749 error and writes it. Store decisions of a
// lost rotation race or a revoked chain are invalid_grant; an unavailable
// store or a full password-hashing queue is temporarily_unavailable.
func (h *tokenHandler) fail(w http.ResponseWriter, r *http.Request, grant string, err error) {
	ferr := h.classify(err)
	switch {
	case ferr.CodeField >= 500 && !errors.Is(ferr, fosite.ErrTemporarilyUnavailable):
		h.d.Log.ErrorContext(r.Context(), "token request failed", "grant_type", grant, "err", err)
	case errors.Is(err, fosite.ErrInactiveToken):
		// fosite has revoked the chain (RFC 9700 §4.14.2).
		h.d.Log.InfoContext(r.Context(), "rotated or revoked refresh token presented: chain revoked")
		h.d.Metrics.RefreshReuses.Inc()
	}
	h.d.Metrics.TokenErrors.WithLabelValues(grant, ferr.ErrorField).Inc()
	h.d.Provider.WriteAccessError(r.Context(), w, fositeRequest(r), ferr)
}

func (h *tokenHandler) classify(err error) *fosite.RFC6749Error {
	switch {
	case errors.Is(err, storage.ErrTokenRotated), errors.Is(err, storage.ErrTokenRevoked):
		return fosite.ErrInvalidGrant.WithHint("The refresh token was already used or revoked.")
	case errors.Is(err, storage.ErrCodeUsed), errors.Is(err, fosite.ErrInvalidatedAuthorizeCode):
		return fosite.ErrInvalidGrant.WithHint("The authorization code was already used.")
	case errors.Is(err, storage.ErrNotFound) && errors.Is(err, fosite.ErrServerError):
		return fosite.ErrInvalidGrant.WithHint("The token is not valid.")
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// Canceled: the client gave up while waiting (for a hashing slot,
		// for the store); nobody reads this answer, but it is no 500.
		return fosite.ErrTemporarilyUnavailable.WithHint("The server is busy; retry shortly.")
	case errors.Is(err, passwords.ErrMalformedHash):
		return fosite.ErrInvalidGrant.WithHint("Unable to authenticate the provided username and password credentials.")
	}
	return fosite.ErrorToRFC6749Error(err)
}

// fositeRequest gives fosite's error writer a requester for i18n; none of
// its data is used.
func fositeRequest(r *http.Request) fosite.AccessRequester {
	return fosite.NewAccessRequest(storage.NewSession())
}
