package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/templates"
)

// authorizeHandler serves /oauth2/auth: the authorization code flow with
// PKCE (RFC 6749 §4.1, RFC 7636, RFC 8252 for native apps) and its login
// and consent pages. fosite validates the request (client, redirect URI,
// response type, PKCE, scopes); this handler authenticates the user.
type authorizeHandler struct{ d *Deps }

// formFields are the login and consent form's own fields; they are not part
// of the authorization request.
var formFields = []string{"username", "password", csrfField, "consent"}

func (h *authorizeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	for k, v := range r.URL.Query() {
		if len(v) > 1 {
			h.d.errorPage(w, r, http.StatusBadRequest, "invalid_request", "The parameter "+printable(k)+" was sent more than once.")
			return
		}
	}
	if r.Method == http.MethodPost {
		if code, desc, ok := parseForm(w, r); !ok {
			h.d.errorPage(w, r, http.StatusBadRequest, code, desc)
			return
		}
	}

	ar, err := h.d.Provider.NewAuthorizeRequest(ctx, r)
	if err != nil {
		h.fail(w, r, ar, err)
		return
	}
	client := storage.ClientRecord(ar.GetClient())
	if client == nil {
		h.fail(w, r, ar, fosite.ErrInvalidClient)
		return
	}
	if err := checkPKCE(ar, client); err != nil {
		h.fail(w, r, ar, err)
		return
	}
	prompt := strings.Fields(ar.GetRequestForm().Get("prompt"))
	page := h.pageData(w, r, ar, client)

	if r.Method == http.MethodPost {
		if !validCSRF(r) {
			h.d.errorPage(w, r, http.StatusForbidden, "invalid_request", "The form expired or was not sent by this site. Go back and try again.")
			return
		}
		if r.PostForm.Has("consent") {
			sess := h.d.loadBrowserSession(ctx, r)
			if sess == nil {
				h.d.renderPage(w, http.StatusOK, templates.LoginPage, page)
				return
			}
			if r.PostForm.Get("consent") != "allow" {
				h.fail(w, r, ar, fosite.ErrAccessDenied.WithHint("The user denied the request."))
				return
			}
			h.finish(w, r, ar, client, sess, false)
			return
		}
		h.login(w, r, ar, client, page)
		return
	}

	sess := h.d.loadBrowserSession(ctx, r)
	if sess == nil || slices.Contains(prompt, "login") || tooOld(sess, ar.GetRequestForm().Get("max_age"), h.d.now()) {
		if slices.Contains(prompt, "none") {
			h.fail(w, r, ar, fosite.ErrLoginRequired)
			return
		}
		h.d.renderPage(w, http.StatusOK, templates.LoginPage, page)
		return
	}
	if !client.FirstParty {
		if slices.Contains(prompt, "none") {
			h.fail(w, r, ar, fosite.ErrConsentRequired)
			return
		}
		// The consent page names the signed-in user, never a login_hint.
		page.Username = ""
		if u, err := h.d.Storage.Store.GetUser(ctx, sess.Subject); err == nil {
			page.Username = u.Username
		}
		h.d.renderPage(w, http.StatusOK, templates.ConsentPage, page)
		return
	}
	h.finish(w, r, ar, client, sess, false)
}

// login checks the submitted credentials; a failure shows the same generic
// message whether or not the user exists.
func (h *authorizeHandler) login(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, client *storage.Client, page templates.Data) {
	ctx := r.Context()
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	page.Username = username
	if username == "" || password == "" {
		page.Error = "invalid_credentials"
		h.d.renderPage(w, http.StatusOK, templates.LoginPage, page)
		return
	}
	u, err := h.d.Storage.CheckPassword(ctx, username, password)
	if err != nil {
		if !errors.Is(err, fosite.ErrNotFound) {
			h.d.Log.WarnContext(ctx, "login failed", "err", err)
		}
		// A spent login budget shows the same message as a wrong
		// password: the page must not tell whether the account exists or
		// is being attacked.
		page.Error = "invalid_credentials"
		h.d.renderPage(w, http.StatusOK, templates.LoginPage, page)
		return
	}
	sess, err := h.d.startBrowserSession(ctx, w, u)
	if err != nil {
		h.d.Log.ErrorContext(ctx, "start browser session", "err", err)
		h.d.errorPage(w, r, http.StatusServiceUnavailable, "temporarily_unavailable", "")
		return
	}
	if !client.FirstParty {
		page.Username = u.Username
		h.d.renderPage(w, http.StatusOK, templates.ConsentPage, page)
		return
	}
	h.finish(w, r, ar, client, sess, true)
}

// finish issues the authorization code for the signed-in user.
func (h *authorizeHandler) finish(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, client *storage.Client, bs *browserSession, fresh bool) {
	ctx := r.Context()
	u, err := h.d.Storage.Store.GetUser(ctx, bs.Subject)
	if err != nil || u.Disabled {
		_ = h.d.endBrowserSession(ctx, w, r)
		h.d.renderPage(w, http.StatusOK, templates.LoginPage, h.pageData(w, r, ar, client))
		return
	}
	now := h.d.now().UTC()
	s := storage.NewSession()
	storage.FillSession(s, u, bs.AuthTime)
	grant(h.d, ar, client, ar.GetRequestedScopes(), ar.GetRequestedAudience())
	startSession(h.d, s, client, ar, bs.AuthTime, now)
	if ar.GetGrantedScopes().Has("openid") {
		ic := s.IDTokenClaims()
		ic.Extra["sid"] = bs.SID
		if fresh {
			// The user authenticated during this request.
			ic.RequestedAt = bs.AuthTime
		}
	}
	resp, err := h.d.Provider.NewAuthorizeResponse(ctx, ar, s)
	if err != nil {
		h.fail(w, r, ar, err)
		return
	}
	h.d.Provider.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// fail reports an authorization error: to the client's redirect URI when
// fosite verified it (RFC 6749 §4.1.2.1), else on an error page — an
// unverified redirect URI is never followed.
func (h *authorizeHandler) fail(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		h.d.Log.ErrorContext(r.Context(), "authorization request failed", "err", err)
	}
	if ar != nil && ar.IsRedirectURIValid() {
		h.d.Provider.WriteAuthorizeError(r.Context(), w, ar, err)
		return
	}
	status := rfc.CodeField
	if status < 400 || status >= 500 {
		status = http.StatusBadRequest
	}
	h.d.errorPage(w, r, status, rfc.ErrorField, rfc.GetDescription())
}

// pageData prepares the login/consent form: it posts back the
// authorization request itself.
func (h *authorizeHandler) pageData(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, c *storage.Client) templates.Data {
	q := url.Values{}
	for k, v := range ar.GetRequestForm() {
		if !slices.Contains(formFields, k) {
			q[k] = v
		}
	}
	return templates.Data{
		Locale:     templates.Negotiate(ar.GetRequestForm().Get("ui_locales"), r.Header.Get("Accept-Language")),
		Action:     PathAuthorize + "?" + q.Encode(),
		CSRFField:  csrfField,
		CSRFToken:  h.d.csrfToken(w, r),
		ClientName: c.ID,
		Username:   ar.GetRequestForm().Get("login_hint"),
		Scopes:     ar.GetRequestedScopes(),
	}
}

// tooOld reports whether the login is older than the request's max_age
// (OIDC Core §3.1.2.1).
func tooOld(s *browserSession, maxAge string, now time.Time) bool {
	if maxAge == "" {
		return false
	}
	n, err := strconv.ParseInt(maxAge, 10, 64)
	if err != nil || n < 0 {
		return true
	}
	return now.Sub(s.AuthTime) > time.Duration(n)*time.Second
}

// checkPKCE enforces RFC 7636 before the user is asked to sign in (fosite
// checks again when issuing the code): public clients must send an S256
// challenge, and no client may use "plain" (RFC 9700 §2.1.1).
func checkPKCE(ar fosite.AuthorizeRequester, c *storage.Client) error {
	challenge := ar.GetRequestForm().Get("code_challenge")
	method := ar.GetRequestForm().Get("code_challenge_method")
	switch {
	case challenge == "" && c.Public:
		return fosite.ErrInvalidRequest.WithHint("Public clients must send a PKCE code_challenge (RFC 7636) with code_challenge_method S256.")
	case challenge != "" && method != "S256":
		return fosite.ErrInvalidRequest.WithHint("Only the S256 code_challenge_method is supported.")
	case challenge == "" && method != "":
		return fosite.ErrInvalidRequest.WithHint("code_challenge_method was sent without a code_challenge.")
	}
	return nil
}
