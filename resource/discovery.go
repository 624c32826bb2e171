package resource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// providerMetadata holds the members of the issuer's metadata document that
// a resource server needs.
type providerMetadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// discoverJWKSURL fetches the issuer's metadata and returns its jwks_uri.
// It tries OpenID Connect Discovery 1.0 §4 first (issuer +
// "/.well-known/openid-configuration") and, on 404, the OAuth 2.0
// Authorization Server Metadata location of RFC 8414 §3.1. Either way the
// document's "issuer" must equal issuer exactly (OIDC Discovery §4.3,
// RFC 8414 §3.3), which defeats a metadata document impersonating another
// issuer.
func discoverJWKSURL(ctx context.Context, client *http.Client, issuer string) (string, error) {
	var body []byte
	var err error
	for _, u := range wellKnownURLs(issuer) {
		body, _, err = get(ctx, client, u)
		var se *statusError
		if errors.As(err, &se) && se.code == http.StatusNotFound {
			continue
		}
		break
	}
	if err != nil {
		return "", fmt.Errorf("fetching issuer metadata: %w", err)
	}

	var md providerMetadata
	if err := json.Unmarshal(body, &md); err != nil {
		return "", fmt.Errorf("decoding issuer metadata: %w", err)
	}
	if md.Issuer != issuer {
		return "", fmt.Errorf("issuer metadata names issuer %q, want %q", md.Issuer, issuer)
	}
	if md.JWKSURI == "" {
		return "", errors.New("issuer metadata has no jwks_uri")
	}
	if err := checkHTTPURL(md.JWKSURI); err != nil {
		return "", fmt.Errorf("issuer metadata jwks_uri: %w", err)
	}
	return md.JWKSURI, nil
}

// wellKnownURLs returns the metadata locations to try, in order. For an
// issuer without a path component both rules give the same host-level
// location for RFC 8414; only with a path does RFC 8414 §3.1 insert the
// well-known segment between host and path.
func wellKnownURLs(issuer string) []string {
	oidc := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	u, err := url.Parse(issuer)
	if err != nil {
		return []string{oidc}
	}
	path := strings.TrimSuffix(u.Path, "/")
	u.Path = "/.well-known/oauth-authorization-server" + path
	u.RawPath = ""
	return []string{oidc, u.String()}
}
