package keys

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// The operator's commands (`qazauth keys …`). They work on the store
// directly, beside running servers: creating a key is the same
// insert-on-generation the servers use, and promotion or retirement is one
// update of timestamps that every server applies at its next reload.

// Outcome tells the operator what a command did.
type Outcome struct {
	Summary string // one sentence
	Warning string // set when cached verifiers may reject tokens
	Changed bool
}

// RetireOptions adjust Retire.
type RetireOptions struct {
	// Force lets the signing key be retired before its successor has been
	// published for a JWKS max age (or without one: a key is created).
	Force bool
	// Remove also takes the key out of the JWKS now (a compromised key):
	// tokens it signed stop verifying once verifiers refetch.
	Remove bool
}

// ErrUnknownKey means no stored key has the kid (or kid prefix).
var ErrUnknownKey = errors.New("keys: no such key")

// ErrRefused means the command would make valid tokens fail; the error
// says what to do instead.
var ErrRefused = errors.New("keys: refused")

// Status reads the keys and returns the schedule at this instant. It
// writes nothing.
func (m *Manager) Status(ctx context.Context) (Schedule, error) {
	recs, err := m.store.ListKeys(ctx)
	if err != nil {
		return Schedule{}, fmt.Errorf("list signing keys: %w", err)
	}
	return Plan(recs, m.policy, m.now()), nil
}

// Rotate starts a rotation now. Without a next key it creates one, which
// becomes current Lead later; with a next key that has been published for
// Lead it promotes it at once; otherwise it says when the next key takes
// over. force promotes (or creates) a key that signs at once.
func (m *Manager) Rotate(ctx context.Context, force bool) (Outcome, error) {
	for range 3 {
		out, err := m.rotateOnce(ctx, force)
		if !errors.Is(err, errLostRace) {
			return out, err
		}
	}
	return Outcome{}, errors.New("keys: a server kept creating keys at the same time; run the command again")
}

func (m *Manager) rotateOnce(ctx context.Context, force bool) (Outcome, error) {
	sched, err := m.Status(ctx)
	if err != nil {
		return Outcome{}, err
	}
	if err := m.checkDecrypts(sched); err != nil {
		return Outcome{}, err
	}
	now, lead := sched.At, m.policy.Lead()
	cur, nxt := sched.Current(), sched.Next()
	gen := sched.MaxGeneration() + 1
	switch {
	case nxt == nil && (cur == nil || force):
		k, err := m.create(ctx, gen, func(time.Time) time.Time { return time.Time{} })
		if err != nil {
			return Outcome{}, err
		}
		out := Outcome{Summary: fmt.Sprintf("created key %s; it signs now", k.ID), Changed: true}
		if cur != nil {
			out.Warning = forcedWarning(m.policy)
		}
		return out, nil
	case nxt == nil:
		k, err := m.create(ctx, gen, func(created time.Time) time.Time { return created.Add(lead) })
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Summary: fmt.Sprintf("created next key %s: published now, current from %s", k.ID, when(k.Record.ActivatesAt, now)), Changed: true}, nil
	}
	ready := nxt.Record.CreatedAt.Add(lead)
	if now.Before(ready) && !force {
		return Outcome{Summary: fmt.Sprintf("next key %s was published at %s and becomes current at %s; nothing to do (--force promotes it now)",
			nxt.Record.ID, when(nxt.Record.CreatedAt, now), when(nxt.Record.ActivatesAt, now))}, nil
	}
	if err := m.promote(ctx, nxt.Record, now); err != nil {
		return Outcome{}, err
	}
	out := Outcome{Summary: fmt.Sprintf("promoted %s: it is current now (servers switch within %s)", nxt.Record.ID, m.policy.Reload), Changed: true}
	if now.Before(ready) {
		out.Warning = forcedWarning(m.policy)
	}
	return out, nil
}

// Retire stops a key from signing now; it stays in the JWKS until the
// tokens it signed have expired, unless opts.Remove. Retiring the current
// key needs a successor that is safe to sign with: the next key once it
// has been published for Lead (else opts.Force).
func (m *Manager) Retire(ctx context.Context, kid string, opts RetireOptions) (Outcome, error) {
	sched, err := m.Status(ctx)
	if err != nil {
		return Outcome{}, err
	}
	st, err := find(sched, kid)
	if err != nil {
		return Outcome{}, err
	}
	now := sched.At
	var out Outcome
	switch st.State {
	case StateRemoved:
		return Outcome{Summary: fmt.Sprintf("key %s has already left the JWKS", st.Record.ID)}, nil
	case StateRetired:
		if !opts.Remove {
			return Outcome{Summary: fmt.Sprintf("key %s is already retired; it leaves the JWKS at %s", st.Record.ID, when(st.RemoveAt, now))}, nil
		}
	case StateCurrent:
		if out, err = m.replace(ctx, sched, st, opts.Force); err != nil {
			return Outcome{}, err
		}
	}
	rec := st.Record
	rec.State = storage.KeyRetired
	if st.State != StateRetired {
		rec.RetiresAt = now.UTC()
	}
	summary := fmt.Sprintf("retired %s: it no longer signs and leaves the JWKS at %s", rec.ID, when(now.Add(m.policy.Retention()), now))
	if st.State == StateNext {
		summary = fmt.Sprintf("retired next key %s: it will never sign and leaves the JWKS at %s", rec.ID, when(now.Add(m.policy.Retention()), now))
	}
	if opts.Remove {
		rec.RemoveAt = now.UTC()
		summary = fmt.Sprintf("removed %s from the JWKS (servers drop it within %s)", rec.ID, m.policy.Reload)
		signed := !now.Before(rec.ActivatesAt)
		if signed && (st.RetiresAt.IsZero() || now.Before(st.RetiresAt.Add(m.policy.TokenTTL))) {
			w := fmt.Sprintf("tokens signed by %s stop verifying as soon as resource servers refetch the JWKS (within %s)", rec.ID, m.policy.JWKSMaxAge)
			out.Warning = strings.TrimPrefix(out.Warning+"; "+w, "; ")
		}
	}
	if err := m.store.UpdateKey(ctx, &rec); err != nil {
		return Outcome{}, fmt.Errorf("retire key %s: %w", rec.ID, err)
	}
	if out.Summary != "" {
		summary = out.Summary + "; " + summary
	}
	return Outcome{Summary: summary, Warning: out.Warning, Changed: true}, nil
}

// replace makes another key current before the current one is retired.
func (m *Manager) replace(ctx context.Context, sched Schedule, cur *Status, force bool) (Outcome, error) {
	now := sched.At
	nxt := sched.Next()
	if nxt == nil && !force {
		return Outcome{}, fmt.Errorf("%w: %s is the signing key and there is no next key; run `qazauth keys rotate` and retire it once the new key is current, or pass --force (cached verifiers may fail)", ErrRefused, cur.Record.ID)
	}
	if nxt == nil {
		if err := m.checkDecrypts(sched); err != nil {
			return Outcome{}, err
		}
		k, err := m.create(ctx, sched.MaxGeneration()+1, func(time.Time) time.Time { return time.Time{} })
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Summary: fmt.Sprintf("created key %s; it signs now", k.ID), Warning: forcedWarning(m.policy)}, nil
	}
	ready := nxt.Record.CreatedAt.Add(m.policy.Lead())
	if now.Before(ready) && !force {
		return Outcome{}, fmt.Errorf("%w: %s is the signing key and its successor %s is safe to sign with only from %s (every cached JWKS holds it by then); wait, or pass --force (cached verifiers may fail)", ErrRefused, cur.Record.ID, nxt.Record.ID, when(ready, now))
	}
	if err := m.promote(ctx, nxt.Record, now); err != nil {
		return Outcome{}, err
	}
	out := Outcome{Summary: fmt.Sprintf("promoted %s", nxt.Record.ID)}
	if now.Before(ready) {
		out.Warning = forcedWarning(m.policy)
	}
	return out, nil
}

// checkDecrypts refuses to add keys when the configured secret does not
// decrypt the stored ones: the servers evidently use another secret and
// could not sign with a key sealed under this one.
func (m *Manager) checkDecrypts(sched Schedule) error {
	st := sched.Current()
	if st == nil && len(sched.Keys) > 0 {
		st = &sched.Keys[0]
	}
	if st == nil {
		return nil
	}
	if _, _, err := open(st.Record, m.sealer); err != nil {
		return fmt.Errorf("the configured QAZAUTH_SECRET does not decrypt the stored keys, so servers could not use a key sealed with it: %w", err)
	}
	return nil
}

// find returns the key with kid, or the only one whose kid starts with it.
func find(sched Schedule, kid string) (*Status, error) {
	if st := sched.Find(kid); st != nil {
		return st, nil
	}
	var match *Status
	for i := range sched.Keys {
		if kid != "" && strings.HasPrefix(sched.Keys[i].Record.ID, kid) {
			if match != nil {
				return nil, fmt.Errorf("%w: %q names more than one key", ErrUnknownKey, kid)
			}
			match = &sched.Keys[i]
		}
	}
	if match == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, kid)
	}
	return match, nil
}

func forcedWarning(p Policy) string {
	return fmt.Sprintf("the new key signs before every cached JWKS holds it: resource servers that fetched the JWKS in the last %s reject its tokens (unknown kid) until they refetch", p.Lead())
}

// when formats t for the operator: UTC, to the second, with the distance
// from now.
func when(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return fmt.Sprintf("%s (in %s)", t.UTC().Format(time.RFC3339), d)
	case d < 0:
		return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), -d)
	}
	return t.UTC().Format(time.RFC3339) + " (now)"
}
