package resource

import "sync"

// claimsCacheSize bounds the decoded claims kept; a full cache starts over.
const claimsCacheSize = 1024

// claimsCache remembers the decoded claims of recently seen tokens, keyed by
// the token's payload segment. An API sees the same access token on many
// requests (an app polling a long job), and decoding its JSON costs a tenth
// of a validation. Only the decoding is skipped: the signature is verified
// on every call, and issuer, audience and time are checked on every call.
type claimsCache struct {
	mu sync.RWMutex
	m  map[string]*rawClaims
}

func (c *claimsCache) get(payload string) (*rawClaims, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	rc, ok := c.m[payload]
	return rc, ok
}

func (c *claimsCache) put(payload string, rc *rawClaims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= claimsCacheSize {
		c.m = make(map[string]*rawClaims, claimsCacheSize)
	}
	c.m[payload] = rc
}
