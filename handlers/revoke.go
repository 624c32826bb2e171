package handlers

import (
	"net/http"
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
	err := h.d.Provider.NewRevocationRequest(r.Context(), r)
	if err != nil {
		h.d.Log.InfoContext(r.Context(), "revocation refused", "err", err)
	}
	h.d.Provider.WriteRevocationResponse(r.Context(), w, err)
}
