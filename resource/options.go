package resource

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Defaults used when the corresponding Option is not given.
const (
	// DefaultMinRefetchInterval is the default for [MinRefetchInterval].
	// Ten seconds bounds the load a flood of tokens with made-up key IDs
	// can put on the issuer to six key-set requests a minute per Validator,
	// while a legitimate key rotation, which is normally first seen long
	// after the previous fetch, is still picked up on the first token that
	// uses the new key.
	DefaultMinRefetchInterval = 10 * time.Second

	// defaultKeyTTL applies when the JWKS response carries no usable
	// Cache-Control max-age. It bounds how long a key the issuer withdrew
	// (for example after a compromise) keeps being trusted.
	defaultKeyTTL = 15 * time.Minute

	// maxKeyTTL caps a JWKS max-age so that a misconfigured issuer cannot
	// pin keys in memory for days.
	maxKeyTTL = 24 * time.Hour

	// fetchTimeout bounds each discovery and key-set request made in the
	// background, independently of the request that triggered it.
	fetchTimeout = 10 * time.Second
)

// supportedAlgorithms are the JWS algorithms a Validator can be configured to
// accept: the RSA signature algorithms of RFC 7518 §3.3 and §3.5. "none" and
// the HMAC algorithms are deliberately absent: a resource server holds only
// public keys, and accepting HS* with a public key as the secret is the
// classic key-confusion attack.
var supportedAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
}

// An Option configures a [Validator]. Options are applied by [New], which
// reports any invalid option as an error.
type Option func(*config) error

// config collects the settings Options can change.
type config struct {
	audience       string
	skipAudience   bool
	leeway         time.Duration
	algorithms     []jose.SignatureAlgorithm
	client         *http.Client
	minRefetch     time.Duration
	now            func() time.Time
	requiredScopes []string
	realm          string
	jwksURL        string
}

func defaultConfig() config {
	return config{
		algorithms: []jose.SignatureAlgorithm{jose.RS256},
		client:     &http.Client{Timeout: fetchTimeout},
		minRefetch: DefaultMinRefetchInterval,
		now:        time.Now,
	}
}

// Audience sets the audience this resource server answers to. A token is
// accepted only if its "aud" claim (a string or an array) contains aud
// (RFC 9068 §4). Without it a token minted for another API of the same
// issuer would be accepted here, so [New] requires either Audience or an
// explicit [SkipAudienceCheck].
func Audience(aud string) Option {
	return func(c *config) error {
		if aud == "" {
			return errors.New("empty audience")
		}
		c.audience = aud
		return nil
	}
}

// SkipAudienceCheck disables the "aud" check. Use it only when every token
// of the issuer is meant for this resource server; it cannot be combined
// with [Audience].
func SkipAudienceCheck() Option {
	return func(c *config) error {
		c.skipAudience = true
		return nil
	}
}

// Leeway sets the tolerance for clock skew between the issuer and this
// server when checking "exp", "nbf" and "iat" (RFC 7519 §4.1.4-§4.1.6). The
// default is zero: both sides are expected to run NTP, and every second of
// leeway extends the life of a stolen token.
func Leeway(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("negative leeway %v", d)
		}
		c.leeway = d
		return nil
	}
}

// Algorithms replaces the set of accepted JWS algorithms, which defaults to
// RS256 only, the algorithm qazauth signs with. Only RS256, RS384, RS512,
// PS256, PS384 and PS512 can be named; "none", the HMAC algorithms (HS256 and
// friends) and anything else make [New] fail, because a public key set can
// only ever vouch for asymmetric signatures.
func Algorithms(algs ...string) Option {
	return func(c *config) error {
		if len(algs) == 0 {
			return errors.New("no algorithms given")
		}
		out := make([]jose.SignatureAlgorithm, 0, len(algs))
		for _, a := range algs {
			alg := jose.SignatureAlgorithm(a)
			if !slices.Contains(supportedAlgorithms, alg) {
				return fmt.Errorf("algorithm %q is not allowed", a)
			}
			if !slices.Contains(out, alg) {
				out = append(out, alg)
			}
		}
		c.algorithms = out
		return nil
	}
}

// HTTPClient sets the client used for discovery and key-set requests, for
// example to add a custom CA pool or a proxy. The default client has a
// 10-second timeout.
func HTTPClient(client *http.Client) Option {
	return func(c *config) error {
		if client == nil {
			return errors.New("nil HTTP client")
		}
		c.client = client
		return nil
	}
}

// MinRefetchInterval sets the minimum time between two key-set requests
// (default [DefaultMinRefetchInterval]). A token whose "kid" is unknown
// triggers a refetch only if the last one started at least d ago; concurrent
// triggers share one request. This bounds what a flood of forged tokens can
// cost the issuer. Zero disables the interval but keeps the sharing.
func MinRefetchInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("negative refetch interval %v", d)
		}
		c.minRefetch = d
		return nil
	}
}

// Clock sets the source of the current time used for token lifetimes and
// key-set freshness. It exists for tests; now must be safe for concurrent
// use.
func Clock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("nil clock")
		}
		c.now = now
		return nil
	}
}

// RequiredScopes sets scopes that every handler guarded by
// [Validator.Middleware] requires, in addition to the scopes passed to
// Middleware itself. Use it for a baseline scope that grants access to the
// API as a whole. Each argument may hold several space-separated scopes.
func RequiredScopes(scopes ...string) Option {
	return func(c *config) error {
		s, err := splitScopes(scopes)
		if err != nil {
			return err
		}
		c.requiredScopes = s
		return nil
	}
}

// Realm sets the realm attribute of the WWW-Authenticate challenges written
// by [Validator.Middleware] (RFC 6750 §3). Without it the attribute is
// omitted. The realm must be printable ASCII without '"' or '\'.
func Realm(realm string) Option {
	return func(c *config) error {
		if !isSafe(realm) {
			return fmt.Errorf("realm %q contains characters not allowed in a header", realm)
		}
		c.realm = realm
		return nil
	}
}

// JWKSURL sets the key-set URL directly and skips the discovery request. Use
// it when the issuer's metadata endpoint is not reachable from this server;
// tokens must still carry the issuer URL given to [New] in "iss".
func JWKSURL(jwksURL string) Option {
	return func(c *config) error {
		if err := checkHTTPURL(jwksURL); err != nil {
			return fmt.Errorf("JWKS URL: %w", err)
		}
		c.jwksURL = jwksURL
		return nil
	}
}

// splitScopes splits each argument on spaces and checks every scope token
// against the scope-token grammar of RFC 6749 §3.3 (%x21 / %x23-5B /
// %x5D-7E), which also makes it safe inside a quoted header attribute.
func splitScopes(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		for _, s := range strings.Fields(a) {
			if !isSafe(s) {
				return nil, fmt.Errorf("invalid scope %q", s)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// checkHTTPURL checks that raw is an absolute http or https URL.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	return nil
}
