package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// sealVersion prefixes every sealed blob so the format can evolve.
const sealVersion byte = 1

// ErrUnsealable means no configured secret decrypts a stored key.
var ErrUnsealable = errors.New("keys: stored key does not decrypt with QAZAUTH_SECRET or QAZAUTH_SECRET_OLD")

// Sealer encrypts private keys at rest with AES-256-GCM under a key derived
// (HKDF-SHA256) from QAZAUTH_SECRET. Old secrets still decrypt, so the secret
// itself can rotate.
type Sealer struct {
	current cipher.AEAD
	old     []cipher.AEAD
}

// NewSealer derives the encryption keys from the current and old secrets.
func NewSealer(secret []byte, old ...[]byte) (*Sealer, error) {
	cur, err := aead(secret)
	if err != nil {
		return nil, err
	}
	s := &Sealer{current: cur}
	for _, o := range old {
		a, err := aead(o)
		if err != nil {
			return nil, err
		}
		s.old = append(s.old, a)
	}
	return s, nil
}

func aead(secret []byte) (cipher.AEAD, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("keys: secret is %d bytes, want at least 32", len(secret))
	}
	k, err := hkdf.Key(sha256.New, secret, nil, "qazauth signing-key encryption v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive key-encryption key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext under the current secret. additional binds the
// ciphertext to its key id, so a blob cannot be swapped between records.
func (s *Sealer) Seal(plaintext, additional []byte) ([]byte, error) {
	nonce := make([]byte, s.current.NonceSize(), 1+s.current.NonceSize()+len(plaintext)+s.current.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	out := append([]byte{sealVersion}, nonce...)
	return s.current.Seal(out, nonce, plaintext, additional), nil
}

// Open decrypts a sealed blob; stale reports that it decrypted only with an
// old secret and should be sealed again.
func (s *Sealer) Open(sealed, additional []byte) (plaintext []byte, stale bool, err error) {
	if len(sealed) < 1 || sealed[0] != sealVersion {
		return nil, false, fmt.Errorf("%w: unknown format", ErrUnsealable)
	}
	body := sealed[1:]
	for i, a := range append([]cipher.AEAD{s.current}, s.old...) {
		if len(body) < a.NonceSize() {
			break
		}
		pt, err := a.Open(nil, body[:a.NonceSize()], body[a.NonceSize():], additional)
		if err == nil {
			return pt, i > 0, nil
		}
	}
	return nil, false, ErrUnsealable
}
