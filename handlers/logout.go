package handlers

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/qaznat/qazauth/templates"
)

// logout serves RP-initiated logout (OpenID Connect RP-Initiated Logout
// 1.0): it ends the browser session, then returns to the client's
// post_logout_redirect_uri when that URI is registered for the client, or
// shows the signed-out page.
func logout(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method == http.MethodPost {
			if code, desc, ok := parseForm(w, r); !ok {
				d.errorPage(w, r, http.StatusBadRequest, code, desc)
				return
			}
			q = r.PostForm
		}
		target := q.Get("post_logout_redirect_uri")
		var redirect *url.URL
		if target != "" {
			clientID := q.Get("client_id")
			if clientID == "" {
				clientID = d.idTokenHintAudience(q.Get("id_token_hint"))
			}
			c, err := d.Storage.Client(r.Context(), clientID)
			if err != nil || !slices.Contains(c.PostLogoutRedirectURIs, target) {
				d.errorPage(w, r, http.StatusBadRequest, "invalid_request", "The post_logout_redirect_uri is not registered for this client.")
				return
			}
			u, err := url.Parse(target)
			if err != nil {
				d.errorPage(w, r, http.StatusBadRequest, "invalid_request", "The post_logout_redirect_uri is malformed.")
				return
			}
			if st := q.Get("state"); st != "" {
				v := u.Query()
				v.Set("state", st)
				u.RawQuery = v.Encode()
			}
			redirect = u
		}
		if err := d.endBrowserSession(r.Context(), w, r); err != nil {
			d.Log.ErrorContext(r.Context(), "end browser session", "err", err)
			d.errorPage(w, r, http.StatusServiceUnavailable, "temporarily_unavailable", "")
			return
		}
		if redirect != nil {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, redirect.String(), http.StatusSeeOther)
			return
		}
		d.renderPage(w, http.StatusOK, templates.LoggedOutPage, templates.Data{
			Locale: templates.Negotiate(q.Get("ui_locales"), r.Header.Get("Accept-Language")),
		})
	})
}

// idTokenHintAudience returns the client an ID token we issued was for
// (expired hints are fine, OIDC RP-Initiated Logout §2), or "".
func (d *Deps) idTokenHintAudience(hint string) string {
	if hint == "" {
		return ""
	}
	aud, err := d.AccessTokens.IDTokenAudience(hint)
	if err != nil || len(aud) != 1 {
		return ""
	}
	return aud[0]
}
