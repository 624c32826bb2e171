package handlers

import (
	"fmt"
	"net/http"
	"strings"
)

// jwks serves the JSON Web Key Set from memory with a strong ETag; resource
// servers cache it for QAZAUTH_JWKS_MAX_AGE.
func jwks(d *Deps) http.Handler {
	cacheControl := fmt.Sprintf("public, max-age=%d", int(d.JWKSMaxAge.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, etag := d.Keys.JWKS()
		h := w.Header()
		h.Set("Cache-Control", cacheControl)
		h.Set("ETag", etag)
		h.Set("Vary", "Accept-Encoding")
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Content-Length", fmt.Sprint(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}

// etagMatches implements If-None-Match (RFC 9110 §13.1.2): a list of
// entity tags or "*"; weak comparison.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
