package server

import (
	"context"
	"time"

	josev3 "github.com/go-jose/go-jose/v3"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	"github.com/ory/fosite/token/jwt"

	"github.com/qaznat/qazauth/keys"

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
var grantTypes = []string{"authorization_code", "password", "refresh_token", "client_credentials"}

// scopes are the scopes qazauth knows; clients are restricted further by
// their registration.
var scopes = []string{"openid", "profile", "email", "offline_access", "roles", "translate"}

// newProvider composes fosite: fosite does the protocol, we supply storage,
// strategies and policy.
func newProvider(cfg *Config, store *storage.Fosite, st strategy, secrets *passwords.ClientSecrets, km *keys.Manager) fosite.OAuth2Provider {
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
	// ID tokens are signed by fosite's go-jose v3 signer; it gets the
	// current key as a JSON Web Key so the kid header is set.
	signer := &jwt.DefaultSigner{GetPrivateKey: func(context.Context) (any, error) {
		k := km.CurrentKey()
		return &josev3.JSONWebKey{Key: k.Private, KeyID: k.ID, Algorithm: keys.Algorithm, Use: "sig"}, nil
	}}
	idTokens := &openid.IDTokenHandleHelper{IDTokenStrategy: &openid.DefaultStrategy{Signer: signer, Config: fc}}
	validator := openid.NewOpenIDConnectRequestValidator(signer, fc)

	// Authorization code with PKCE (RFC 7636), then OpenID Connect on top.
	// Each handler serves both endpoints (as fosite's compose does): it
	// issues the code at one and redeems it at the other.
	code := &oauth2.AuthorizeExplicitGrantHandler{
		AccessTokenStrategy:    st,
		RefreshTokenStrategy:   st,
		AuthorizeCodeStrategy:  st,
		CoreStorage:            store,
		TokenRevocationStorage: store,
		Config:                 fc,
	}
	pkceHandler := &pkce.Handler{AuthorizeCodeStrategy: st, Storage: store, Config: fc}
	oidc := &openid.OpenIDConnectExplicitHandler{
		OpenIDConnectRequestStorage:   store,
		IDTokenHandleHelper:           idTokens,
		OpenIDConnectRequestValidator: validator,
		Config:                        fc,
	}
	fc.AuthorizeEndpointHandlers.Append(code)
	fc.AuthorizeEndpointHandlers.Append(pkceHandler)
	fc.AuthorizeEndpointHandlers.Append(oidc)
	fc.TokenEndpointHandlers.Append(code)
	fc.TokenEndpointHandlers.Append(pkceHandler)
	fc.TokenEndpointHandlers.Append(oidc)
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
	fc.TokenEndpointHandlers.Append(&passwordIDToken{helper: idTokens, lifespan: cfg.AccessTokenTTL})
	fc.TokenEndpointHandlers.Append(&openid.OpenIDConnectRefreshHandler{IDTokenHandleHelper: idTokens, Config: fc})
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

// passwordIDToken adds an OpenID Connect ID token to password-grant
// responses whose scope includes openid (fosite issues ID tokens only for
// the code and refresh flows). It runs after the password handler, whose
// access token it hashes into at_hash.
type passwordIDToken struct {
	helper   *openid.IDTokenHandleHelper
	lifespan time.Duration
}

var _ fosite.TokenEndpointHandler = (*passwordIDToken)(nil)

func (p *passwordIDToken) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne("password")
}

func (p *passwordIDToken) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool {
	return false
}

func (p *passwordIDToken) HandleTokenEndpointRequest(context.Context, fosite.AccessRequester) error {
	return nil
}

func (p *passwordIDToken) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !r.GetGrantedScopes().Has("openid") {
		return nil
	}
	lifespan := fosite.GetEffectiveLifespan(r.GetClient(), fosite.GrantTypePassword, fosite.IDToken, p.lifespan)
	return p.helper.IssueExplicitIDToken(ctx, lifespan, r, resp)
}
