package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/ory/fosite"
)

// revokeHandler serves /oauth2/revoke (RFC 7009). Revoking a refresh token
// or an access token ends the whole grant (its refresh-token chain and the
// records of its access tokens); an unknown token answers 200 (§2.2); a
// token of another client is refused and left alone.
type revokeHandler struct{ d *Deps }

func (h *revokeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if code, desc, ok := parseForm(w, r); !ok {
		writeError(w, http.StatusBadRequest, code, desc)
		return
	}
	if r.PostForm.Get("token") == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "The token parameter is missing.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestDeadline)
	defer cancel()
	r = r.WithContext(ctx)
	err := h.d.Provider.NewRevocationRequest(ctx, r)
	// fosite reports a store failure while revoking as
	// temporarily_unavailable, which its WriteRevocationResponse answers
	// with 200, as if the token were revoked; one while authenticating the
	// client as invalid_client. Neither is true: the client must retry.
	if unavailable(err) || errors.Is(err, fosite.ErrTemporarilyUnavailable) {
		h.d.Log.WarnContext(r.Context(), "revocation failed: store unavailable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The token cannot be revoked right now; retry shortly.")
		return
	}
	if err != nil {
		h.d.Log.InfoContext(r.Context(), "revocation refused", "err", err)
	}
	h.d.Provider.WriteRevocationResponse(r.Context(), w, err)
}
