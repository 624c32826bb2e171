package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/qaznat/qazauth/handlers"
)

// corsPaths are the endpoints a browser app may call cross-origin.
var corsPaths = []string{
	handlers.PathToken, handlers.PathRevoke, handlers.PathUserinfo,
	handlers.PathJWKS, handlers.PathDiscovery, handlers.PathASMetadata,
}

// cors answers cross-origin requests from the exact origins of
// QAZAUTH_CORS_ORIGINS (Fetch standard §3.2): no wildcard, no credentials
// (the endpoints take tokens, not cookies). Other origins get no CORS
// headers, so the browser withholds the response.
func cors(next http.Handler, origins []string) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !slices.Contains(corsPaths, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := slices.Contains(origins, origin)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if allowed {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", strings.Join([]string{"WWW-Authenticate", "Retry-After"}, ", "))
		}
		next.ServeHTTP(w, r)
	})
}
