package handlers

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/qaznat/qazauth/storage"
)

// PathSessions is the signed-in user's own sessions (devices).
const PathSessions = "/account/sessions"

// deviceSession is one login chain as the user sees it.
type deviceSession struct {
	ID         string    `json:"id"`
	ClientID   string    `json:"client_id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent,omitempty"`
	IP         string    `json:"ip,omitempty"`
	// Current marks the session of the token making this request.
	Current bool `json:"current"`
}

// accountSessions serves GET /account/sessions (list), DELETE
// /account/sessions/{id} (end one) and DELETE /account/sessions (end all).
// The caller is the user of the bearer access token; ending a session
// revokes its refresh-token chain, so each device is signed out at its next
// refresh.
type accountSessions struct{ d *Deps }

// user authenticates the request as a user (not a client acting for
// itself) and returns the user's id and the caller's chain.
func (a accountSessions) user(w http.ResponseWriter, r *http.Request) (sub, chain string, ok bool) {
	w.Header().Set("Cache-Control", "no-store")
	c, rec, err := a.d.bearerRecord(r)
	if err != nil {
		bearerError(w, err)
		return "", "", false
	}
	if c.Subject == c.ClientID || c.Username == "" {
		writeError(w, http.StatusForbidden, "insufficient_scope", "A user's access token is required.")
		return "", "", false
	}
	return c.Subject, rec.RequestID, true
}

// sessions reads the user's live chains; on a store failure it answers 503.
func (a accountSessions) sessions(w http.ResponseWriter, r *http.Request, sub string) ([]storage.Token, bool) {
	toks, err := a.d.Storage.Store.ListSessions(r.Context(), sub)
	if err != nil {
		a.d.Log.ErrorContext(r.Context(), "list sessions", "err", err)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "Sessions cannot be read right now; retry.")
		return nil, false
	}
	return toks, true
}

func (a accountSessions) list(w http.ResponseWriter, r *http.Request) {
	sub, chain, ok := a.user(w, r)
	if !ok {
		return
	}
	toks, ok := a.sessions(w, r, sub)
	if !ok {
		return
	}
	out := make([]deviceSession, 0, len(toks))
	for _, t := range toks {
		out = append(out, deviceSession{
			ID: t.RequestID, ClientID: t.ClientID, CreatedAt: t.ChainStartedAt, LastUsedAt: t.CreatedAt,
			ExpiresAt: t.ExpiresAt, UserAgent: t.UserAgent, IP: t.IP, Current: t.RequestID == chain,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// end revokes the chains whose id is in ids (all of the user's when ids is
// nil); it answers 404 when a named session is not the user's.
func (a accountSessions) end(w http.ResponseWriter, r *http.Request, one string) {
	sub, _, ok := a.user(w, r)
	if !ok {
		return
	}
	toks, ok := a.sessions(w, r, sub)
	if !ok {
		return
	}
	found := false
	for _, t := range toks {
		if one != "" && t.RequestID != one {
			continue
		}
		found = true
		if err := a.d.Storage.Store.RevokeChain(r.Context(), t.RequestID); err != nil {
			a.d.Log.ErrorContext(r.Context(), "end session", "err", err)
			writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The session could not be ended; retry.")
			return
		}
	}
	if one != "" && !found {
		writeError(w, http.StatusNotFound, "not_found", "There is no such session of yours.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a accountSessions) register(r *mux.Router) {
	r.HandleFunc(PathSessions, a.list).Methods(http.MethodGet)
	r.HandleFunc(PathSessions, func(w http.ResponseWriter, r *http.Request) { a.end(w, r, "") }).Methods(http.MethodDelete)
	r.HandleFunc(PathSessions+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.end(w, r, mux.Vars(r)["id"])
	}).Methods(http.MethodDelete)
}
