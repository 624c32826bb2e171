package keys

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func states(t *testing.T, m *Manager) map[string]State {
	t.Helper()
	sched, err := m.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]State{}
	for _, k := range sched.Keys {
		out[k.Record.ID] = k.State
	}
	return out
}

func TestRotateCommand(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	seal, _ := NewSealer(secret(t))
	c := &clock{t: t0}
	p := testPolicy
	p.Rotation = 0 // manual
	m := newManager(t, st, seal, p, c)

	out, err := m.Rotate(t.Context(), false)
	if err != nil || !out.Changed || out.Warning != "" {
		t.Fatalf("rotate on an empty store: %+v %v", out, err)
	}
	sched, _ := m.Status(t.Context())
	k1 := sched.Current()
	if k1 == nil {
		t.Fatal("rotate on an empty store made no current key")
	}

	out, err = m.Rotate(t.Context(), false)
	if err != nil || !out.Changed || out.Warning != "" || !strings.Contains(out.Summary, "created next key") {
		t.Fatalf("rotate: %+v %v", out, err)
	}
	sched, _ = m.Status(t.Context())
	nxt := sched.Next()
	if nxt == nil || !nxt.Record.ActivatesAt.Equal(t0.Add(p.Lead())) {
		t.Fatalf("next key %+v, want one activating a lead (%v) from now", nxt, p.Lead())
	}

	c.set(t0.Add(time.Minute))
	out, err = m.Rotate(t.Context(), false)
	if err != nil || out.Changed || !strings.Contains(out.Summary, "nothing to do") {
		t.Fatalf("rotate with a pending next key: %+v %v", out, err)
	}

	out, err = m.Rotate(t.Context(), true)
	if err != nil || !out.Changed || out.Warning == "" {
		t.Fatalf("rotate --force: %+v %v", out, err)
	}
	if got := states(t, m); got[nxt.Record.ID] != StateCurrent || got[k1.Record.ID] != StateRetired {
		t.Fatalf("after rotate --force: %v", got)
	}

	// A stranger's secret cannot add keys the servers could not read.
	other, _ := NewSealer(secret(t))
	if _, err := newManager(t, st, other, p, c).Rotate(t.Context(), false); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("rotate with another secret: %v, want ErrUnsealable", err)
	}
}

// TestRotatePromotesANextKeyPublishedLongEnough: a next key scheduled far
// ahead (automatic rotation) is promoted at once by `rotate` when every
// cache holds it already.
func TestRotatePromotesANextKeyPublishedLongEnough(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	seal, _ := NewSealer(secret(t))
	c := &clock{t: t0}
	m := newManager(t, st, seal, testPolicy, c)
	if err := m.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	k, err := Generate(2048, seal)
	if err != nil {
		t.Fatal(err)
	}
	k.Record.Generation, k.Record.CreatedAt, k.Record.ActivatesAt = 2, t0, t0.Add(24*time.Hour)
	if err := st.CreateKey(t.Context(), &k.Record); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(testPolicy.Lead()))
	out, err := m.Rotate(t.Context(), false)
	if err != nil || !out.Changed || out.Warning != "" || !strings.Contains(out.Summary, "promoted") {
		t.Fatalf("rotate: %+v %v", out, err)
	}
	reload(t, m)
	if m.CurrentKey().ID != k.ID {
		t.Fatalf("signing with %s, want the promoted %s", m.CurrentKey().ID, k.ID)
	}
}

func TestRetireCommand(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	seal, _ := NewSealer(secret(t))
	c := &clock{t: t0}
	m := newManager(t, st, seal, testPolicy, c)
	if err := m.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	k1 := m.CurrentKey().ID

	// The signing key cannot be retired without a safe successor.
	if _, err := m.Retire(t.Context(), k1, RetireOptions{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("retire the only key: %v, want ErrRefused", err)
	}
	if _, err := m.Rotate(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Retire(t.Context(), k1, RetireOptions{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("retire before the successor is safe: %v, want ErrRefused", err)
	}
	if _, err := m.Retire(t.Context(), "nope", RetireOptions{}); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("retire an unknown kid: %v", err)
	}

	// --force: the successor signs now, k1 is retired but stays published.
	out, err := m.Retire(t.Context(), k1[:10], RetireOptions{Force: true})
	if err != nil || out.Warning == "" {
		t.Fatalf("retire --force by kid prefix: %+v %v", out, err)
	}
	reload(t, m)
	k2 := m.CurrentKey().ID
	if k2 == k1 || states(t, m)[k1] != StateRetired {
		t.Fatalf("after retire: signing %s, states %v", k2, states(t, m))
	}
	if _, ok := m.PublicKey(k1); !ok {
		t.Fatal("a retired key left the JWKS at once")
	}

	// --remove on a retired key takes it out of the JWKS now.
	out, err = m.Retire(t.Context(), k1, RetireOptions{Remove: true})
	if err != nil || !out.Changed || out.Warning == "" {
		t.Fatalf("retire --remove: %+v %v", out, err)
	}
	reload(t, m)
	if _, ok := m.PublicKey(k1); ok {
		t.Fatal("retire --remove left the key in the JWKS")
	}

	// A next key that is retired never signs; automatic rotation creates
	// another one.
	c.set(t0.Add(49 * time.Minute))
	reload(t, m)
	sched, _ := m.Status(t.Context())
	k3 := sched.Next()
	if _, err := m.Retire(t.Context(), k3.Record.ID, RetireOptions{}); err != nil {
		t.Fatal(err)
	}
	reload(t, m)
	sched, _ = m.Status(t.Context())
	if sched.Find(k3.Record.ID).State != StateRetired || sched.Next() == nil || sched.Next().Record.Generation != k3.Record.Generation+1 {
		t.Fatalf("after retiring the next key: %+v", sched.Keys)
	}
	c.set(k3.Record.ActivatesAt)
	reload(t, m)
	if m.CurrentKey().ID == k3.Record.ID {
		t.Fatal("a retired next key signs")
	}
}

// TestRetireCompromisedSigningKey: `retire KID --force --remove` on the
// signing key makes another key sign at once and drops KID from the JWKS.
func TestRetireCompromisedSigningKey(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	seal, _ := NewSealer(secret(t))
	c := &clock{t: t0}
	m := newManager(t, st, seal, testPolicy, c)
	if err := m.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	bad := m.CurrentKey().ID
	out, err := m.Retire(t.Context(), bad, RetireOptions{Force: true, Remove: true})
	if err != nil || !strings.Contains(out.Warning, "stop verifying") || !strings.Contains(out.Warning, "before every cached JWKS") {
		t.Fatalf("retire --force --remove: %+v %v", out, err)
	}
	reload(t, m)
	if m.CurrentKey().ID == bad {
		t.Fatal("the compromised key still signs")
	}
	if _, ok := m.PublicKey(bad); ok {
		t.Fatal("the compromised key is still published")
	}
	if recs, _ := st.ListKeys(t.Context()); len(recs) != 1 {
		t.Fatalf("%d stored keys, want the compromised one deleted", len(recs))
	}
}
