package server

import (
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/qaznat/qazauth/passwords"
	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/tokens"
)

// strategy combines our access-token strategy with our opaque refresh-token
// and authorization-code strategy into fosite's CoreStrategy.
type strategy struct {
	*tokens.JWT
	*tokens.Opaque
}

var _ oauth2.CoreStrategy = strategy{}

// grantTypes are the grants wired into fosite.
var grantTypes = []string{"password", "refresh_token", "client_credentials"}

// scopes are the scopes qazauth knows; clients are restricted further by
// their registration.
var scopes = []string{"openid", "profile", "email", "offline_access", "roles", "translate"}

// newProvider composes fosite: fosite does the protocol, we supply storage,
// strategies and policy.
func newProvider(cfg *Config, store *storage.Fosite, st strategy, secrets *passwords.ClientSecrets) fosite.OAuth2Provider {
	fc := &fosite.Config{
		AccessTokenLifespan:            cfg.AccessTokenTTL,
		RefreshTokenLifespan:           cfg.RefreshTokenTTL,
		AuthorizeCodeLifespan:          time.Minute,
		IDTokenLifespan:                cfg.AccessTokenTTL,
		AccessTokenIssuer:              cfg.Issuer,
		IDTokenIssuer:                  cfg.Issuer,
		TokenURL:                       cfg.Issuer + "/oauth2/token",
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:       audienceStrategy(cfg),
		RefreshTokenScopes:             []string{"offline_access"},
		ClientSecretsHasher:            secrets,
		SendDebugMessagesToClients:     false,
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,
		MinParameterEntropy:            fosite.MinParameterEntropy,
		GlobalSecret:                   cfg.Secret,
	}
	helper := &oauth2.HandleHelper{AccessTokenStrategy: st, AccessTokenStorage: store, Config: fc}
	//lint:ignore SA1019 the existing apps use the password grant (DESIGN.md); RFC 9700 §2.4 discourages it for new ones
	fc.TokenEndpointHandlers.Append(&oauth2.ResourceOwnerPasswordCredentialsGrantHandler{
		HandleHelper: helper,
		ResourceOwnerPasswordCredentialsGrantStorage: store,
		RefreshTokenStrategy:                         st,
		Config:                                       fc,
	})
	fc.TokenEndpointHandlers.Append(&oauth2.RefreshTokenGrantHandler{
		AccessTokenStrategy:    st,
		RefreshTokenStrategy:   st,
		TokenRevocationStorage: store,
		Config:                 fc,
	})
	fc.TokenEndpointHandlers.Append(&oauth2.ClientCredentialsGrantHandler{HandleHelper: helper, Config: fc})
	fc.TokenIntrospectionHandlers.Append(&oauth2.CoreValidator{CoreStrategy: st, CoreStorage: store, Config: fc})
	fc.RevocationHandlers.Append(&oauth2.TokenRevocationHandler{
		TokenRevocationStorage: store,
		AccessTokenStrategy:    st,
		RefreshTokenStrategy:   st,
	})
	return fosite.NewOAuth2Provider(store, fc)
}

// audienceStrategy matches requested (and, on refresh, previously granted)
// audiences exactly against the client's, also allowing the defaults that
// the token endpoint itself grants (QAZAUTH_ACCESS_TOKEN_AUDIENCE, the
// issuer).
func audienceStrategy(cfg *Config) fosite.AudienceMatchingStrategy {
	return func(haystack, needle []string) error {
		rest := make([]string, 0, len(needle))
		for _, a := range needle {
			if a != cfg.Issuer && (cfg.AccessTokenAudience == "" || a != cfg.AccessTokenAudience) {
				rest = append(rest, a)
			}
		}
		return fosite.ExactAudienceMatchingStrategy(haystack, rest)
	}
}
