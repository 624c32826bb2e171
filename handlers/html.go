package handlers

import (
	"bytes"
	"net/http"

	"github.com/qaznat/qazauth/templates"
)

// renderPage writes an HTML page with the headers every page carries: no
// caching, no framing, and a CSP that allows only the page's own nonce'd
// style (no scripts at all).
func (d *Deps) renderPage(w http.ResponseWriter, status int, p templates.Page, data templates.Data) {
	data.Nonce = randomToken()[:22]
	var buf bytes.Buffer
	if err := d.Pages.Render(&buf, p, data); err != nil {
		d.Log.Error("render page", "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "The page could not be rendered.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+data.Nonce+"'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage shows an error in the browser (never a redirect to an
// unverified URI).
func (d *Deps) errorPage(w http.ResponseWriter, r *http.Request, status int, code, text string) {
	locale := templates.Negotiate(r.URL.Query().Get("ui_locales"), r.Header.Get("Accept-Language"))
	if locale != "en" {
		// The detail comes from the protocol library, in English: the
		// translated message for the code stands alone.
		text = ""
	}
	d.renderPage(w, status, templates.ErrorPage, templates.Data{Locale: locale, ErrorCode: code, ErrorText: text})
}
