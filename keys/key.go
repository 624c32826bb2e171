package keys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/qaznat/qazauth/storage"
)

// Algorithm is the only signing algorithm qazauth uses.
const Algorithm = "RS256"

// Key is a decrypted signing key.
type Key struct {
	ID      string
	Private *rsa.PrivateKey
	Record  storage.Key
}

// Public returns the public JSON Web Key.
func (k *Key) Public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.Private.PublicKey, KeyID: k.ID, Algorithm: Algorithm, Use: "sig"}
}

// Generate creates a new RSA key of the given size with the private key
// sealed. The kid is the RFC 7638 thumbprint of the public key, so it names
// the key material itself. The caller schedules it (Generation, CreatedAt,
// ActivatesAt).
func Generate(bits int, sealer *Sealer) (*Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("generate RSA-%d key: %w", bits, err)
	}
	pub := jose.JSONWebKey{Key: &priv.PublicKey, Algorithm: Algorithm, Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	pub.KeyID = kid
	jwk, err := pub.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode public JWK: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	sealed, err := sealer.Seal(der, []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("seal private key: %w", err)
	}
	return &Key{
		ID:      kid,
		Private: priv,
		Record:  storage.Key{ID: kid, Algorithm: Algorithm, PrivateKey: sealed, PublicJWK: jwk},
	}, nil
}

// open decrypts a stored key; stale reports an old-secret encryption.
func open(rec storage.Key, sealer *Sealer) (*Key, bool, error) {
	der, stale, err := sealer.Open(rec.PrivateKey, []byte(rec.ID))
	if err != nil {
		return nil, false, fmt.Errorf("key %s: %w", rec.ID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, false, fmt.Errorf("key %s: parse private key: %w", rec.ID, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, false, fmt.Errorf("key %s: not an RSA key (%T)", rec.ID, parsed)
	}
	return &Key{ID: rec.ID, Private: priv, Record: rec}, stale, nil
}

// Signer returns a JWS signer for typ ("at+jwt", "JWT") with the kid header.
func (k *Key) newSigner(typ string) (jose.Signer, error) {
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", k.ID)
	return jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.Private}, opts)
}
