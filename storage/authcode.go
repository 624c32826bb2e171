package storage

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/ory/fosite"
)

// Authorization codes, and the PKCE and OpenID Connect data fosite keeps
// beside them, share the code table under distinct key prefixes.
const (
	pkcePrefix = "pkce:"
	oidcPrefix = "oidc:"
)

// CreateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (f *Fosite) CreateAuthorizeCodeSession(ctx context.Context, signature string, r fosite.Requester) error {
	t, err := f.record(ctx, signature, fosite.AuthorizeCode, r)
	if err != nil {
		return err
	}
	return f.Store.CreateAuthCode(ctx, t)
}

// GetAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage. A used
// code is returned with fosite.ErrInvalidatedAuthorizeCode so that fosite
// revokes the tokens it issued (RFC 6749 §4.1.2).
func (f *Fosite) GetAuthorizeCodeSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	t, err := f.Store.GetAuthCode(ctx, signature)
	used := errors.Is(err, ErrCodeUsed)
	if err != nil && !used {
		return nil, toFositeErr(err)
	}
	req, derr := f.decodeRequest(ctx, t.Data, session)
	if derr != nil {
		return nil, toFositeErr(derr)
	}
	if used {
		return req, fosite.ErrInvalidatedAuthorizeCode
	}
	return req, nil
}

// InvalidateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage: the
// one atomic decision that redeems a code.
func (f *Fosite) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	err := f.Store.UseAuthCode(ctx, signature)
	if errors.Is(err, ErrCodeUsed) {
		return fosite.ErrInvalidatedAuthorizeCode
	}
	return toFositeErr(err)
}

// CreatePKCERequestSession implements pkce.PKCERequestStorage.
func (f *Fosite) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	t, err := f.record(ctx, pkcePrefix+signature, fosite.AuthorizeCode, r)
	if err != nil {
		return err
	}
	return f.Store.CreateAuthCode(ctx, t)
}

// GetPKCERequestSession implements pkce.PKCERequestStorage.
func (f *Fosite) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	return f.getCodeData(ctx, pkcePrefix+signature, session)
}

// DeletePKCERequestSession implements pkce.PKCERequestStorage.
func (f *Fosite) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return f.deleteCodeData(ctx, pkcePrefix+signature)
}

// codeKey derives the key of OpenID Connect data from an authorization code:
// fosite hands over the code itself, which must not be stored.
func codeKey(code string) string {
	sum := sha256.Sum256([]byte(code))
	return oidcPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// CreateOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (f *Fosite) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	t, err := f.record(ctx, codeKey(code), fosite.AuthorizeCode, r)
	if err != nil {
		return err
	}
	return f.Store.CreateAuthCode(ctx, t)
}

// GetOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (f *Fosite) GetOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) (fosite.Requester, error) {
	return f.getCodeData(ctx, codeKey(code), r.GetSession())
}

// DeleteOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (f *Fosite) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return f.deleteCodeData(ctx, codeKey(code))
}

func (f *Fosite) getCodeData(ctx context.Context, key string, session fosite.Session) (fosite.Requester, error) {
	t, err := f.Store.GetAuthCode(ctx, key)
	if errors.Is(err, ErrCodeUsed) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, toFositeErr(err)
	}
	req, err := f.decodeRequest(ctx, t.Data, session)
	if err != nil {
		return nil, toFositeErr(err)
	}
	return req, nil
}

func (f *Fosite) deleteCodeData(ctx context.Context, key string) error {
	err := f.Store.UseAuthCode(ctx, key)
	if errors.Is(err, ErrCodeUsed) || errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
