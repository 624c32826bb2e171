package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// errLostRace means another instance (or the CLI) created the key of that
// generation first; the caller reloads and uses theirs.
var errLostRace = errors.New("keys: another instance created this generation first")

// maintain performs the writes the schedule calls for at now, and reports
// whether it wrote anything. Promotion and retirement are not among them:
// they follow from the timestamps. What is left:
//
//   - no current key (an empty store): create one, active at once, or
//     promote a waiting next key;
//   - automatic rotation is due: create the next key, activating Lead
//     later at the earliest;
//   - a key reached its removal time: delete the record (idempotent).
//
// Creating a key is an insert of generation N+1: when several instances
// decide at once, exactly one insert succeeds and the others reload.
func (m *Manager) maintain(ctx context.Context, recs []storage.Key) (changed bool, err error) {
	now := m.now()
	sched := Plan(recs, m.policy, now)
	for _, k := range sched.Keys {
		if k.State != StateRemoved {
			continue
		}
		if err := m.store.DeleteKey(ctx, k.Record.ID); err != nil {
			return changed, err
		}
		changed = true
		m.log.Info("signing key removed from the JWKS", "kid", k.Record.ID, "generation", k.Record.Generation)
	}
	cur, nxt := sched.Current(), sched.Next()
	switch {
	case cur == nil && nxt != nil:
		m.log.Warn("no signing key is current: promoting the next key at once; cached verifiers may not know it yet", "kid", nxt.Record.ID)
		return true, m.promote(ctx, nxt.Record, now)
	case cur == nil:
		_, err := m.create(ctx, sched.MaxGeneration()+1, func(time.Time) time.Time { return time.Time{} })
		if errors.Is(err, errLostRace) {
			err = nil
		}
		return true, err
	}
	if due := sched.NextKeyDue(m.policy); !due.IsZero() && !now.Before(due) {
		period := cur.Record.ActivatesAt.Add(m.policy.Rotation)
		_, err := m.create(ctx, sched.MaxGeneration()+1, func(created time.Time) time.Time {
			return latest(period, created.Add(m.policy.Lead()))
		})
		if errors.Is(err, errLostRace) {
			err = nil
		}
		return true, err
	}
	return changed, nil
}

// create generates a key and inserts it as generation gen. activates maps
// the creation time to the activation time (zero: at once). The RSA key is
// generated first and the times taken after, so that a slow generation
// (seconds for RSA-4096) never shortens the pre-publication.
func (m *Manager) create(ctx context.Context, gen int64, activates func(created time.Time) time.Time) (*Key, error) {
	k, err := Generate(m.bits, m.sealer)
	if err != nil {
		return nil, err
	}
	now := m.now().UTC()
	k.Record.Generation = gen
	k.Record.CreatedAt = now
	k.Record.ActivatesAt = activates(now)
	k.Record.State = storage.KeyNext
	if k.Record.ActivatesAt.IsZero() || !k.Record.ActivatesAt.After(now) {
		k.Record.ActivatesAt = now
		k.Record.State = storage.KeyCurrent
	}
	if err := m.store.CreateKey(ctx, &k.Record); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			m.log.Debug("another instance created the signing key first", "generation", gen)
			return nil, errLostRace
		}
		return nil, fmt.Errorf("store new signing key: %w", err)
	}
	m.log.Info("generated signing key", "kid", k.ID, "generation", gen, "alg", Algorithm, "bits", m.bits,
		"state", k.Record.State, "activates", k.Record.ActivatesAt)
	return k, nil
}

// promote makes a next key current at now: an explicit write, only by an
// operator or when nothing else can sign.
func (m *Manager) promote(ctx context.Context, rec storage.Key, now time.Time) error {
	rec.ActivatesAt = now.UTC()
	rec.State = storage.KeyCurrent
	if err := m.store.UpdateKey(ctx, &rec); err != nil {
		return fmt.Errorf("promote key %s: %w", rec.ID, err)
	}
	return nil
}

// latest returns the later of two times.
func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
