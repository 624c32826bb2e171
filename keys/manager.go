package keys

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/qaznat/qazauth/storage"
)

// Manager holds the current key set in memory and keeps it in step with the
// store. Readers never block: each change publishes a new immutable snapshot.
type Manager struct {
	store  storage.KeyStore
	sealer *Sealer
	bits   int
	log    *slog.Logger
	now    func() time.Time

	set atomic.Pointer[keySet]
}

// keySet is an immutable snapshot of the published and signing keys.
type keySet struct {
	current  *Key
	atSigner jose.Signer
	public   map[string]*rsa.PublicKey
	jwks     []byte
	etag     string
}

// NewManager returns a manager over store; call Init before use.
func NewManager(store storage.KeyStore, sealer *Sealer, bits int, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{store: store, sealer: sealer, bits: bits, log: log, now: time.Now}
}

// Init loads the keys, re-encrypts any sealed under an old secret, and
// creates the first signing key when the store has none.
func (m *Manager) Init(ctx context.Context) error {
	recs, err := m.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	for _, rec := range recs {
		k, stale, err := open(rec, m.sealer)
		if err != nil {
			return err
		}
		if stale {
			if err := m.reseal(ctx, k); err != nil {
				return err
			}
		}
	}
	if pickCurrent(recs, m.now()) == nil {
		k, err := Generate(m.bits, m.sealer, m.now().UTC())
		if err != nil {
			return err
		}
		if err := m.store.CreateKey(ctx, &k.Record); err != nil {
			return fmt.Errorf("store new signing key: %w", err)
		}
		m.log.Info("generated signing key", "kid", k.ID, "alg", Algorithm, "bits", m.bits)
	}
	return m.Reload(ctx)
}

// reseal encrypts k again under the current secret.
func (m *Manager) reseal(ctx context.Context, k *Key) error {
	der, _, err := m.sealer.Open(k.Record.PrivateKey, []byte(k.ID))
	if err != nil {
		return err
	}
	sealed, err := m.sealer.Seal(der, []byte(k.ID))
	if err != nil {
		return err
	}
	rec := k.Record
	rec.PrivateKey = sealed
	if err := m.store.UpdateKey(ctx, &rec); err != nil {
		return fmt.Errorf("re-encrypt key %s: %w", k.ID, err)
	}
	m.log.Info("re-encrypted signing key under the current secret", "kid", k.ID)
	return nil
}

// pickCurrent chooses the signing key: among keys in state current whose
// activation time has come, the latest activated (ties: smallest kid). Every
// instance reading the same records makes the same choice.
func pickCurrent(recs []storage.Key, now time.Time) *storage.Key {
	var best *storage.Key
	for i := range recs {
		r := &recs[i]
		if r.State != storage.KeyCurrent || r.ActivatesAt.After(now) {
			continue
		}
		if best == nil || r.ActivatesAt.After(best.ActivatesAt) ||
			(r.ActivatesAt.Equal(best.ActivatesAt) && r.ID < best.ID) {
			best = r
		}
	}
	return best
}

// Reload reads the keys from the store and publishes a new snapshot when
// the key set changed.
func (m *Manager) Reload(ctx context.Context) error {
	recs, err := m.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("reload signing keys: %w", err)
	}
	cur := pickCurrent(recs, m.now())
	if cur == nil {
		return errors.New("no signing key is current")
	}
	old := m.set.Load()
	if old != nil && old.current.ID == cur.ID && samePublished(old, recs) {
		return nil
	}
	k, _, err := open(*cur, m.sealer)
	if err != nil {
		return err
	}
	set, err := buildSet(k, recs)
	if err != nil {
		return err
	}
	m.set.Store(set)
	if old != nil && old.current.ID != k.ID {
		m.log.Info("signing key changed", "kid", k.ID)
	}
	return nil
}

func samePublished(s *keySet, recs []storage.Key) bool {
	n := 0
	for _, r := range recs {
		if !published(r) {
			continue
		}
		if _, ok := s.public[r.ID]; !ok {
			return false
		}
		n++
	}
	return n == len(s.public)
}

// published reports whether a key belongs in the JWKS: next, current and
// retired keys all do, until removal.
func published(r storage.Key) bool {
	switch r.State {
	case storage.KeyNext, storage.KeyCurrent, storage.KeyRetired:
		return true
	}
	return false
}

func buildSet(cur *Key, recs []storage.Key) (*keySet, error) {
	signer, err := cur.newSigner("at+jwt")
	if err != nil {
		return nil, fmt.Errorf("signer for key %s: %w", cur.ID, err)
	}
	set := &keySet{current: cur, atSigner: signer, public: map[string]*rsa.PublicKey{}}
	var jwks jose.JSONWebKeySet
	// Stable order (by kid) so the document, and its ETag, change exactly
	// when the key set does.
	sorted := slices.Clone(recs)
	slices.SortFunc(sorted, func(a, b storage.Key) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	for _, r := range sorted {
		if !published(r) {
			continue
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(r.PublicJWK); err != nil {
			return nil, fmt.Errorf("key %s: decode public JWK: %w", r.ID, err)
		}
		pub, ok := jwk.Key.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("key %s: public key is %T, want RSA", r.ID, jwk.Key)
		}
		set.public[r.ID] = pub
		jwks.Keys = append(jwks.Keys, jose.JSONWebKey{Key: pub, KeyID: r.ID, Algorithm: Algorithm, Use: "sig"})
	}
	body, err := json.Marshal(jwks)
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	sum := sha256.Sum256(body)
	set.jwks = body
	set.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	return set, nil
}

// Run reloads the key set every interval until ctx ends, so that instances
// sharing a store converge on the same signing key.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Reload(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("reload signing keys", "err", err)
			}
		}
	}
}

// JWKS returns the JSON Web Key Set document and its strong ETag.
func (m *Manager) JWKS() (body []byte, etag string) {
	s := m.set.Load()
	return s.jwks, s.etag
}

// CurrentKey returns the key that signs now.
func (m *Manager) CurrentKey() *Key { return m.set.Load().current }

// PublicKey returns the published public key with kid.
func (m *Manager) PublicKey(kid string) (*rsa.PublicKey, bool) {
	k, ok := m.set.Load().public[kid]
	return k, ok
}

// SignAccessToken signs payload as an RFC 9068 access token (typ at+jwt).
func (m *Manager) SignAccessToken(payload []byte) (string, error) {
	jws, err := m.set.Load().atSigner.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return jws.CompactSerialize()
}
