package handlers

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/qaznat/qazauth/templates"
)

// metadata is the provider metadata of OpenID Connect Discovery 1.0 §3 and
// RFC 8414 §2. It lists only what this server implements.
type metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	PromptValuesSupported             []string `json:"prompt_values_supported"`
	UILocalesSupported                []string `json:"ui_locales_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	AccessTokenSigningAlgs            []string `json:"access_token_signing_alg_values_supported,omitempty"`
}

// discovery serves both metadata documents (they are the same here).
func discovery(d *Deps) http.Handler {
	m := metadata{
		Issuer:                            d.Issuer,
		TokenEndpoint:                     d.Issuer + PathToken,
		JWKSURI:                           d.Issuer + PathJWKS,
		RevocationEndpoint:                d.Issuer + PathRevoke,
		IntrospectionEndpoint:             d.Issuer + PathIntrospect,
		UserinfoEndpoint:                  d.Issuer + PathUserinfo,
		EndSessionEndpoint:                d.Issuer + PathLogout,
		ScopesSupported:                   d.Scopes,
		ResponseTypesSupported:            []string{},
		ResponseModesSupported:            []string{"query"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		PromptValuesSupported:             []string{"none", "login"},
		UILocalesSupported:                templates.Locales,
		GrantTypesSupported:               d.GrantTypes,
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "none"},
		RevocationAuthMethodsSupported:    []string{"client_secret_basic", "client_secret_post", "none"},
		IntrospectionAuthMethodsSupported: []string{"client_secret_basic"},
		ClaimsSupported:                   []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "jti", "client_id", "scope", "preferred_username", "email", "email_verified", "roles"},
		AccessTokenSigningAlgs:            []string{"RS256"},
	}
	if slices.Contains(d.GrantTypes, "authorization_code") {
		m.AuthorizationEndpoint = d.Issuer + PathAuthorize
		m.ResponseTypesSupported = []string{"code"}
	}
	body, err := json.MarshalIndent(m, "", "  ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err != nil {
			writeError(w, http.StatusInternalServerError, "server_error", "Discovery document unavailable.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(body)
	})
}
