package storage

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ory/fosite"
)

// fositeClient presents a Client to fosite. It deliberately does not
// implement fosite.OpenIDConnectClient: that would pin one
// token_endpoint_auth_method, and confidential clients may use either
// client_secret_basic or client_secret_post.
type fositeClient struct{ c *Client }

var (
	_ fosite.Client                         = fositeClient{}
	_ fosite.ClientWithCustomTokenLifespans = fositeClient{}
)

// ClientRecord returns the stored registration behind a fosite client
// returned by this package, or nil.
func ClientRecord(c fosite.Client) *Client {
	if fc, ok := c.(fositeClient); ok {
		return fc.c
	}
	return nil
}

func (f fositeClient) GetID() string { return f.c.ID }
func (f fositeClient) GetHashedSecret() []byte {
	return []byte(f.c.SecretHash)
}
func (f fositeClient) GetRedirectURIs() []string { return f.c.RedirectURIs }
func (f fositeClient) GetGrantTypes() fosite.Arguments {
	return fosite.Arguments(f.c.GrantTypes)
}
func (f fositeClient) GetResponseTypes() fosite.Arguments {
	if len(f.c.ResponseTypes) == 0 {
		return fosite.Arguments{"code"}
	}
	return fosite.Arguments(f.c.ResponseTypes)
}
func (f fositeClient) GetScopes() fosite.Arguments   { return fosite.Arguments(f.c.Scopes) }
func (f fositeClient) IsPublic() bool                { return f.c.Public }
func (f fositeClient) GetAudience() fosite.Arguments { return fosite.Arguments(f.c.Audience) }

// GetEffectiveLifespan applies the client's overrides of the server-wide
// token lifetimes.
func (f fositeClient) GetEffectiveLifespan(_ fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	switch {
	case tt == fosite.AccessToken && f.c.AccessTokenTTL > 0:
		return f.c.AccessTokenTTL
	case tt == fosite.RefreshToken && f.c.RefreshTokenTTL > 0:
		return f.c.RefreshTokenTTL
	}
	return fallback
}

// clientCache keeps client registrations in memory for a short time: a
// client is read on every token request, and registrations change rarely
// (the seed file at start). Instances sharing a store see a change within
// the TTL.
type clientCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedClient
}

type cachedClient struct {
	c       *Client
	expires time.Time
}

func (cc *clientCache) get(id string, now time.Time) (*Client, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.m[id]
	if !ok || now.After(e.expires) {
		return nil, false
	}
	return e.c, true
}

func (cc *clientCache) put(c *Client, now time.Time) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil || len(cc.m) > 10000 {
		cc.m = map[string]cachedClient{}
	}
	cc.m[c.ID] = cachedClient{c: c, expires: now.Add(cc.ttl)}
}

func (cc *clientCache) forget(id string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	delete(cc.m, id)
}

// GetClient implements fosite.ClientManager.
func (f *Fosite) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := f.Client(ctx, id)
	if err != nil {
		return nil, err
	}
	return fositeClient{c}, nil
}

// Client returns the registration of id, from the cache when fresh.
func (f *Fosite) Client(ctx context.Context, id string) (*Client, error) {
	if id == "" {
		return nil, fosite.ErrNotFound
	}
	now := f.now()
	if c, ok := f.clients.get(id, now); ok {
		return c, nil
	}
	c, err := f.Store.GetClient(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fosite.ErrNotFound.WithWrap(err)
	}
	if err != nil {
		return nil, err
	}
	f.clients.put(c, now)
	return c, nil
}

// ClientAssertionJWTValid implements fosite.ClientManager. qazauth does not
// accept private_key_jwt client authentication, so no jti is ever known.
func (f *Fosite) ClientAssertionJWTValid(context.Context, string) error { return nil }

// SetClientAssertionJWT implements fosite.ClientManager; see
// ClientAssertionJWTValid.
func (f *Fosite) SetClientAssertionJWT(context.Context, string, time.Time) error { return nil }
