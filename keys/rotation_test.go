package keys

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/storage/sqlite"
)

// clock is a settable time source shared by the managers of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// testPolicy rotates hourly with a 10-minute JWKS max age and 15-minute
// tokens: lead 11m, retention 25m.
var testPolicy = Policy{Rotation: time.Hour, JWKSMaxAge: 10 * time.Minute, TokenTTL: 15 * time.Minute, Reload: 30 * time.Second, Margin: time.Minute}

func openStore(t *testing.T) storage.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "qazauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newManager(t *testing.T, st storage.KeyStore, seal *Sealer, p Policy, c *clock) *Manager {
	t.Helper()
	m := NewManager(st, seal, 2048, nil, WithPolicy(p))
	m.now = c.now
	return m
}

func jwksKids(t *testing.T, m *Manager) []string {
	t.Helper()
	body, _ := m.JWKS()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func reload(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.Reload(t.Context()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
}

// TestManagerRotatesOnSchedule walks one key through next → current →
// retired → removed on a fake clock, checking what is published and what
// signs at each boundary.
func TestManagerRotatesOnSchedule(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	seal, _ := NewSealer(secret(t))
	c := &clock{t: t0}
	m := newManager(t, st, seal, testPolicy, c)
	if err := m.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	k1 := m.CurrentKey().ID
	_, etag1 := m.JWKS()

	c.set(t0.Add(49*time.Minute - time.Second)) // not yet due (60m - 11m lead)
	reload(t, m)
	if kids := jwksKids(t, m); len(kids) != 1 {
		t.Fatalf("before the due time: JWKS %v, want only %s", kids, k1)
	}

	c.set(t0.Add(49 * time.Minute))
	reload(t, m)
	sched, err := m.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	nxt := sched.Next()
	if nxt == nil || !nxt.Record.ActivatesAt.Equal(t0.Add(time.Hour)) || nxt.Record.Generation != 2 {
		t.Fatalf("next key = %+v, want generation 2 activating at %v", nxt, t0.Add(time.Hour))
	}
	k2 := nxt.Record.ID
	_, etag2 := m.JWKS()
	if etag2 == etag1 || !slices.Contains(jwksKids(t, m), k2) {
		t.Fatalf("next key not published (ETag %s → %s)", etag1, etag2)
	}
	if m.CurrentKey().ID != k1 {
		t.Fatal("the next key signs before its activation")
	}
	oldTok, err := m.SignAccessToken([]byte(`{"sub":"x"}`))
	if err != nil {
		t.Fatal(err)
	}

	c.set(t0.Add(time.Hour - time.Nanosecond))
	reload(t, m)
	if m.CurrentKey().ID != k1 {
		t.Fatal("switched before the activation time")
	}
	c.set(t0.Add(time.Hour))
	reload(t, m)
	if m.CurrentKey().ID != k2 {
		t.Fatalf("signing key at activation = %s, want %s", m.CurrentKey().ID, k2)
	}
	if _, etag := m.JWKS(); etag != etag2 {
		t.Error("ETag changed although the published set did not (next became current)")
	}
	verify(t, m, oldTok, k1)

	// Retired: published for token TTL + max age after it stopped signing.
	c.set(t0.Add(time.Hour + 25*time.Minute - time.Millisecond))
	reload(t, m)
	if !slices.Contains(jwksKids(t, m), k1) {
		t.Fatal("retired key left the JWKS while its tokens may still be valid")
	}
	c.set(t0.Add(time.Hour + 25*time.Minute))
	reload(t, m)
	if kids := jwksKids(t, m); slices.Contains(kids, k1) || len(kids) != 1 {
		t.Fatalf("JWKS after retention = %v, want only %s", kids, k2)
	}
	if _, etag := m.JWKS(); etag == etag2 {
		t.Error("ETag unchanged although a key left the JWKS")
	}
	recs, _ := st.ListKeys(t.Context())
	if len(recs) != 1 || recs[0].ID != k2 {
		t.Fatalf("stored keys after removal: %d, want only %s", len(recs), k2)
	}

	// The next rotation follows from the new key's activation.
	c.set(t0.Add(time.Hour + 49*time.Minute))
	reload(t, m)
	if sched, _ := m.Status(t.Context()); sched.Next() == nil || sched.Next().Record.Generation != 3 {
		t.Fatal("second rotation did not create generation 3")
	}
}

func verify(t *testing.T, m *Manager, tok, wantKid string) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	kid := jws.Signatures[0].Header.KeyID
	if kid != wantKid {
		t.Fatalf("token kid %s, want %s", kid, wantKid)
	}
	pub, ok := m.PublicKey(kid)
	if !ok {
		t.Fatalf("kid %s not published", kid)
	}
	if _, err := jws.Verify(pub); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// TestManagersSharingAStoreCreateOneKeyPerRotation: several instances reach
// the due time together; exactly one next key is created and all of them
// publish the same JWKS and switch to the same key.
func TestManagersSharingAStoreCreateOneKeyPerRotation(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	seal, _ := NewSealer(secret(t))
	c := &clock{t: t0}
	const n = 4
	ms := make([]*Manager, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		ms[i] = newManager(t, st, seal, testPolicy, c)
		wg.Go(func() { errs[i] = ms[i].Init(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Init %d: %v", i, err)
		}
	}
	for rotation := range 2 {
		due := t0.Add(time.Duration(rotation)*time.Hour + 49*time.Minute)
		c.set(due)
		for i := range n {
			wg.Go(func() { errs[i] = ms[i].Reload(t.Context()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Reload %d: %v", i, err)
			}
		}
		recs, _ := st.ListKeys(t.Context())
		if len(recs) != 2 {
			t.Fatalf("rotation %d: %d stored keys, want 2 (one current, one next)", rotation, len(recs))
		}
		// Every instance sees the other's key at its next reload.
		for _, m := range ms {
			reload(t, m)
		}
		c.set(due.Add(11 * time.Minute))
		for _, m := range ms {
			reload(t, m)
		}
		_, etag := ms[0].JWKS()
		for i, m := range ms {
			if m.CurrentKey().ID != ms[0].CurrentKey().ID || m.CurrentKey().Record.Generation != int64(rotation+2) {
				t.Fatalf("rotation %d: instance %d signs with %s (generation %d)", rotation, i, m.CurrentKey().ID, m.CurrentKey().Record.Generation)
			}
			if _, e := m.JWKS(); e != etag {
				t.Fatalf("rotation %d: instance %d publishes another JWKS", rotation, i)
			}
		}
	}
}

// TestSecretRotationReencryptsEveryKey: keys sealed under secret A (a
// retired, the current and a next key) are re-encrypted at start with B
// and A as old secret; afterwards B alone opens them and A none.
func TestSecretRotationReencryptsEveryKey(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	a, b := secret(t), secret(t)
	sealA, _ := NewSealer(a)
	c := &clock{t: t0}
	p := testPolicy
	p.TokenTTL = time.Hour // k1 stays published until 2h10m
	m := newManager(t, st, sealA, p, c)
	if err := m.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(49 * time.Minute))
	reload(t, m) // next key
	c.set(t0.Add(time.Hour + 49*time.Minute))
	reload(t, m) // k2 current, k1 retired, k3 next
	sched, _ := m.Status(t.Context())
	if len(sched.Keys) != 3 {
		t.Fatalf("%d keys, want 3", len(sched.Keys))
	}
	signing := m.CurrentKey().ID
	tok, _ := m.SignAccessToken([]byte(`{}`))

	sealBA, _ := NewSealer(b, a)
	mb := newManager(t, st, sealBA, p, c)
	if err := mb.Init(t.Context()); err != nil {
		t.Fatalf("start with B and A as old: %v", err)
	}
	if mb.CurrentKey().ID != signing {
		t.Fatal("secret rotation changed the signing key")
	}
	verify(t, mb, tok, signing)

	onlyB, _ := NewSealer(b)
	onlyA, _ := NewSealer(a)
	recs, _ := st.ListKeys(t.Context())
	for _, r := range recs {
		if _, stale, err := onlyB.Open(r.PrivateKey, []byte(r.ID)); err != nil || stale {
			t.Errorf("key %s does not open with B alone: %v", r.ID, err)
		}
		if _, _, err := onlyA.Open(r.PrivateKey, []byte(r.ID)); !errors.Is(err, ErrUnsealable) {
			t.Errorf("key %s still opens with A: %v", r.ID, err)
		}
	}
	if err := newManager(t, st, onlyB, p, c).Init(t.Context()); err != nil {
		t.Fatalf("start with B alone: %v", err)
	}
}

// TestReloadAppliesTheScheduleWhenTheStoreIsDown: a key activates on time
// even if the store cannot be read at that moment.
func TestReloadAppliesTheScheduleWhenTheStoreIsDown(t *testing.T) {
	t.Parallel()
	st := &flaky{KeyStore: openStore(t)}
	seal, _ := NewSealer(secret(t))
	c := &clock{t: t0}
	m := newManager(t, st, seal, testPolicy, c)
	if err := m.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(49 * time.Minute))
	reload(t, m)
	sched, _ := m.Status(t.Context())
	k2 := sched.Next().Record.ID
	st.down = true
	c.set(t0.Add(time.Hour))
	if err := m.Reload(t.Context()); err == nil {
		t.Fatal("Reload with the store down reported no error")
	}
	if m.CurrentKey().ID != k2 {
		t.Fatal("the next key did not take over while the store was down")
	}
}

type flaky struct {
	storage.KeyStore
	down bool
}

func (f *flaky) ListKeys(ctx context.Context) ([]storage.Key, error) {
	if f.down {
		return nil, storage.ErrUnavailable
	}
	return f.KeyStore.ListKeys(ctx)
}

// TestRunSwitchesAtTheActivationTime runs the reload loop on the real clock
// with a schedule in fractions of a second.
func TestRunSwitchesAtTheActivationTime(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	seal, _ := NewSealer(secret(t))
	p := Policy{Rotation: 600 * time.Millisecond, JWKSMaxAge: 200 * time.Millisecond, TokenTTL: 200 * time.Millisecond, Reload: time.Hour, Margin: 100 * time.Millisecond}
	m := NewManager(st, seal, 2048, nil, WithPolicy(p))
	if err := m.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := m.CurrentKey().ID
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go m.Run(ctx)
	// Reload is an hour: only the scheduled wake-ups (next key due, its
	// activation) can make the switch.
	deadline := time.Now().Add(time.Minute)
	for m.CurrentKey().ID == first {
		if time.Now().After(deadline) {
			t.Fatal("no switch within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cur := m.CurrentKey().Record
	if now := time.Now(); now.Before(cur.ActivatesAt) {
		t.Fatalf("switched at %v, before the activation time %v", now, cur.ActivatesAt)
	}
	if cur.ActivatesAt.Sub(cur.CreatedAt) < p.Lead() {
		t.Fatalf("the key was published %v before it signed, want at least %v", cur.ActivatesAt.Sub(cur.CreatedAt), p.Lead())
	}
}
