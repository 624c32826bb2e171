// Package handlers implements qazauth's HTTP endpoints, one file per
// endpoint family. fosite does the protocol; these handlers parse and police
// the HTTP request, apply qazauth's policy (scopes, audience, lifetimes) and
// map every failure to its RFC-defined error.
package handlers

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/ory/fosite"

	"github.com/qaznat/qazauth/keys"
	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/templates"
	"github.com/qaznat/qazauth/tokens"
)

// Deps is everything the handlers need; the server wires it.
type Deps struct {
	Issuer          string
	Provider        fosite.OAuth2Provider
	Storage         *storage.Fosite
	Keys            *keys.Manager
	AccessTokens    *tokens.JWT
	DefaultAudience string
	SessionMaxAge   time.Duration
	AccessTokenTTL  time.Duration
	JWKSMaxAge      time.Duration
	// GrantTypes are the grant types wired into the provider.
	GrantTypes []string
	// Scopes are the scopes advertised in discovery.
	Scopes []string
	// Pages renders the login, consent, error and signed-out pages.
	Pages   *templates.Renderer
	Log     *slog.Logger
	Metrics *Metrics
	// ClientIP returns the client address of a request (trusted proxies
	// applied).
	ClientIP func(*http.Request) string
	Now      func() time.Time
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Paths of the endpoints (DESIGN.md).
const (
	PathDiscovery    = "/.well-known/openid-configuration"
	PathASMetadata   = "/.well-known/oauth-authorization-server"
	PathJWKS         = "/.well-known/jwks.json"
	PathToken        = "/oauth2/token"
	PathAuthorize    = "/oauth2/auth"
	PathUserinfo     = "/userinfo"
	PathLogout       = "/oauth2/logout"
	PathRevoke       = "/oauth2/revoke"
	PathIntrospect   = "/oauth2/introspect"
	PathHealth       = "/healthz"
	PathReady        = "/readyz"
	maxFormBodyBytes = 64 << 10
	// requestDeadline bounds the store and hashing work of one token,
	// revocation or introspection request: past it the client gets 503
	// temporarily_unavailable (a store outage, a login flood waiting for a
	// hashing slot) instead of waiting for its own timeout.
	requestDeadline   = 5 * time.Second
	maxTokenParamSize = 8 << 10
)

// Ready reports whether the server can serve (store reachable).
type Ready func(r *http.Request) error

// New returns the router with every endpoint.
func New(d Deps, ready Ready) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics, _ = NewMetrics(nil) // unregistered: cannot fail
	}
	r := mux.NewRouter()
	disc := discovery(&d)
	r.Handle(PathDiscovery, disc).Methods(http.MethodGet, http.MethodHead)
	r.Handle(PathASMetadata, disc).Methods(http.MethodGet, http.MethodHead)
	r.Handle(PathJWKS, jwks(&d)).Methods(http.MethodGet, http.MethodHead)
	r.Handle(PathToken, &tokenHandler{d: &d}).Methods(http.MethodPost)
	r.Handle(PathRevoke, &revokeHandler{d: &d}).Methods(http.MethodPost)
	r.Handle(PathAuthorize, &authorizeHandler{d: &d}).Methods(http.MethodGet, http.MethodPost)
	r.Handle(PathUserinfo, userinfo(&d)).Methods(http.MethodGet, http.MethodPost)
	r.Handle(PathLogout, logout(&d)).Methods(http.MethodGet, http.MethodPost)
	r.Handle(PathIntrospect, &introspectHandler{d: &d}).Methods(http.MethodPost)
	accountSessions{d: &d}.register(r)
	r.HandleFunc(PathHealth, health).Methods(http.MethodGet, http.MethodHead)
	r.Handle(PathReady, readiness(&d, ready)).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "There is no endpoint at this path.")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "This HTTP method is not allowed at this endpoint.")
	})
	return r
}
