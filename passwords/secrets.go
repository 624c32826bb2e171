package passwords

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// ClientSecrets checks client secrets against their argon2id hashes and
// remembers a successful check for a short time. A confidential client
// authenticates on every token request; without the cache each request
// would pay one argon2id hash (~30 ms of CPU), which would cap client
// credentials and refresh throughput far below one RSA signature.
//
// What is remembered is an HMAC of the secret under a random key that lives
// only in this process, next to the hash it verified against: no secret is
// held in plain text, and a changed hash invalidates the entry.
//
// It implements fosite.Hasher.
type ClientSecrets struct {
	h   *Hasher
	ttl time.Duration
	key [32]byte
	now func() time.Time

	mu sync.Mutex
	m  map[string]verified // by stored hash
}

type verified struct {
	mac     [32]byte
	expires time.Time
}

// NewClientSecrets returns a checker that caches verifications for ttl
// (zero disables the cache).
func NewClientSecrets(h *Hasher, ttl time.Duration) *ClientSecrets {
	c := &ClientSecrets{h: h, ttl: ttl, now: time.Now, m: map[string]verified{}}
	_, _ = rand.Read(c.key[:])
	return c
}

func (c *ClientSecrets) mac(secret []byte) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	m.Write(secret)
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out
}

// Compare implements fosite.Hasher: nil when data is the secret of hash.
func (c *ClientSecrets) Compare(ctx context.Context, hash, data []byte) error {
	if len(hash) == 0 {
		return ErrMismatch
	}
	key := string(hash)
	mac := c.mac(data)
	now := c.now()
	if c.ttl > 0 {
		c.mu.Lock()
		v, ok := c.m[key]
		c.mu.Unlock()
		if ok && now.Before(v.expires) && hmac.Equal(v.mac[:], mac[:]) {
			return nil
		}
	}
	if err := c.h.Verify(ctx, key, string(data)); err != nil {
		if errors.Is(err, ErrMalformedHash) {
			return ErrMismatch
		}
		return err
	}
	if c.ttl > 0 {
		c.mu.Lock()
		if len(c.m) > 10000 {
			c.m = map[string]verified{}
		}
		c.m[key] = verified{mac: mac, expires: now.Add(c.ttl)}
		c.mu.Unlock()
	}
	return nil
}

// Hash implements fosite.Hasher.
func (c *ClientSecrets) Hash(ctx context.Context, data []byte) ([]byte, error) {
	s, err := c.h.Hash(ctx, string(data))
	return []byte(s), err
}
