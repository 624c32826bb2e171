package keys

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/qaznat/qazauth/storage"
)

// Manager holds the key set in memory and keeps it in step with the store
// and the clock. Readers never block: each change publishes a new immutable
// snapshot.
type Manager struct {
	store  storage.KeyStore
	sealer *Sealer
	bits   int
	policy Policy
	log    *slog.Logger
	now    func() time.Time

	mu     sync.Mutex      // serializes Reload; guards the fields below
	recs   []storage.Key   // the records last read
	sched  Schedule        // the schedule last published
	opened map[string]*Key // decrypted keys by kid
	warned map[string]bool // kids whose decryption failure was logged

	set atomic.Pointer[keySet]
}

// keySet is an immutable snapshot of the published and signing keys.
type keySet struct {
	current  *Key
	atSigner jose.Signer
	public   map[string]*rsa.PublicKey
	kids     []string // published kids, sorted
	jwks     []byte
	etag     string
}

// Option adjusts a Manager.
type Option func(*Manager)

// WithPolicy sets the rotation schedule; without it rotation is manual
// and the JWKS max age and token lifetime are the documented defaults.
func WithPolicy(p Policy) Option {
	return func(m *Manager) {
		if p.Reload <= 0 {
			p.Reload = 30 * time.Second
		}
		m.policy = p
	}
}

// NewManager returns a manager over store; call Init before use.
func NewManager(store storage.KeyStore, sealer *Sealer, bits int, log *slog.Logger, opts ...Option) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		store: store, sealer: sealer, bits: bits, log: log, now: time.Now,
		policy: NewPolicy(0, 15*time.Minute, 15*time.Minute),
		opened: map[string]*Key{}, warned: map[string]bool{},
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Policy returns the rotation schedule in force.
func (m *Manager) Policy() Policy { return m.policy }

// Init re-encrypts keys sealed under an old secret (QAZAUTH_SECRET_OLD),
// creates the first signing key when the store has none, and publishes the
// key set. Every stored key must decrypt: a server that could not sign with
// its next key should fail at start, not at the rotation.
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

// Reload reads the keys, performs the transitions that are due (creating
// the next key, deleting removed ones: see maintain) and publishes the key
// set in force now. When the store cannot be read, the schedule is still
// applied to the records last read, so that a key activates on time.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs, err := m.store.ListKeys(ctx)
	if err != nil {
		if m.recs != nil {
			_ = m.publish(m.recs, m.now())
		}
		return fmt.Errorf("reload signing keys: %w", err)
	}
	changed, merr := m.maintain(ctx, recs)
	if changed {
		if recs, err = m.store.ListKeys(ctx); err != nil {
			return fmt.Errorf("reload signing keys: %w", err)
		}
	}
	m.recs = recs
	return errors.Join(m.publish(recs, m.now()), merr)
}

// publish makes the schedule at now the snapshot readers see. The snapshot
// is replaced only when the signing key or the published set changed, so
// the JWKS document and its ETag change exactly then.
func (m *Manager) publish(recs []storage.Key, now time.Time) error {
	sched := Plan(recs, m.policy, now)
	m.sched = sched
	m.prune(sched)
	cur := sched.Current()
	if cur == nil {
		return errors.New("no signing key is current")
	}
	// Decrypt the next key as soon as it appears: an instance that cannot
	// (another QAZAUTH_SECRET) should say so long before it must sign.
	if nxt := sched.Next(); nxt != nil {
		if _, err := m.openCached(nxt.Record); err != nil && !m.warned[nxt.Record.ID] {
			m.warned[nxt.Record.ID] = true
			m.log.Error("next signing key does not decrypt; this instance will keep the old key", "kid", nxt.Record.ID, "err", err)
		}
	}
	kids := publishedKids(sched)
	old := m.set.Load()
	if old != nil && old.current.ID == cur.Record.ID && slices.Equal(old.kids, kids) {
		return nil
	}
	k, err := m.openCached(cur.Record)
	if err != nil {
		return err
	}
	set, err := buildSet(k, sched)
	if err != nil {
		return err
	}
	m.set.Store(set)
	if old != nil && old.current.ID != k.ID {
		m.log.Info("signing key changed", "kid", k.ID, "generation", k.Record.Generation, "previous", old.current.ID)
	}
	return nil
}

// openCached decrypts a key once per process.
func (m *Manager) openCached(rec storage.Key) (*Key, error) {
	if k, ok := m.opened[rec.ID]; ok {
		return k, nil
	}
	k, _, err := open(rec, m.sealer)
	if err != nil {
		return nil, err
	}
	m.opened[rec.ID] = k
	return k, nil
}

// prune forgets decrypted keys that are no longer published.
func (m *Manager) prune(sched Schedule) {
	for kid := range m.opened {
		if s := sched.Find(kid); s == nil || !s.Published() {
			delete(m.opened, kid)
		}
	}
}

// Run reloads the key set every Policy.Reload, and at the exact instant of
// each scheduled change (a key activating or leaving the JWKS), until ctx
// ends. Instances sharing a store thus switch keys at the same moment.
func (m *Manager) Run(ctx context.Context) {
	for {
		wait := m.policy.Reload
		if ev := m.nextEvent(); !ev.IsZero() {
			// A millisecond late rather than early, when the clock reading
			// and the timer disagree slightly.
			wait = min(wait, max(ev.Sub(m.now())+time.Millisecond, 0))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := m.Reload(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("reload signing keys", "err", err)
		}
	}
}

func (m *Manager) nextEvent() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sched.NextEvent(m.policy)
}

// JWKS returns the JSON Web Key Set document (RFC 7517 §5) and its strong
// ETag.
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
