package keys

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// State is where a key is in its lifecycle:
//
//	next ──ActivatesAt──▶ current ──newer key activates──▶ retired ──RemoveAt──▶ removed
//
// next, current and retired keys are published in the JWKS; only the
// current key signs.
type State string

// Key states.
const (
	StateNext    State = "next"    // published, not yet signing
	StateCurrent State = "current" // signing; at most one
	StateRetired State = "retired" // published until its tokens expired
	StateRemoved State = "removed" // no longer published; the record is deleted
)

// Policy is the rotation schedule. Every instance sharing a store, and the
// `qazauth keys` command, must use the same one (they do when they share
// the configuration).
type Policy struct {
	// Rotation is how long a key signs before the next one takes over
	// (QAZAUTH_KEY_ROTATION); 0 rotates only on `qazauth keys rotate`.
	Rotation time.Duration
	// JWKSMaxAge is how long resource servers may cache the JWKS
	// (QAZAUTH_JWKS_MAX_AGE).
	JWKSMaxAge time.Duration
	// TokenTTL is the longest lifetime of a token a key signs (access and
	// ID tokens).
	TokenTTL time.Duration
	// Reload is how often an instance re-reads the keys from the store.
	Reload time.Duration
	// Margin covers the reload lag of other instances and clock skew: a
	// next key is published at least JWKSMaxAge + Margin before it signs.
	Margin time.Duration
}

// NewPolicy derives the schedule from the configuration. Instances reload
// the keys every quarter of the JWKS max age (at most every 30 s, at least
// every 250 ms), so that a new key reaches every instance's JWKS well within
// a cache lifetime; the margin is two reload intervals (one for the reload
// lag, one for clock skew).
func NewPolicy(rotation, jwksMaxAge, tokenTTL time.Duration) Policy {
	reload := min(30*time.Second, max(jwksMaxAge/4, 250*time.Millisecond))
	return Policy{
		Rotation:   rotation,
		JWKSMaxAge: jwksMaxAge,
		TokenTTL:   tokenTTL,
		Reload:     reload,
		Margin:     2 * reload,
	}
}

// Lead is how long a next key is published before it may sign: by then
// every JWKS cache (max-age) on every instance (reload lag) holds it.
func (p Policy) Lead() time.Duration { return p.JWKSMaxAge + p.Margin }

// Retention is how long a retired key stays published: until every token
// it signed has expired, plus one JWKS max age.
func (p Policy) Retention() time.Duration { return p.TokenTTL + p.JWKSMaxAge }

// Status is a key's place in the schedule, derived from the records and
// the clock.
type Status struct {
	Record storage.Key
	State  State
	// RetiresAt is when it stops signing (zero: not scheduled yet);
	// RemoveAt when it leaves the JWKS (zero: not scheduled yet).
	RetiresAt, RemoveAt time.Time
}

// Published reports whether the key belongs in the JWKS.
func (s *Status) Published() bool { return s.State != StateRemoved }

// Schedule is every key's status at one instant, newest generation first.
type Schedule struct {
	At   time.Time
	Keys []Status
}

// Plan derives the schedule at now. It is a pure function of the records,
// the policy and the clock, which is why promotion and retirement need no
// write: every instance computes the same answer.
//
// A key retires when the first newer key that ever signs activates (or at
// its explicit RetiresAt, if earlier) and is removed Retention later (or at
// its explicit RemoveAt). Between ActivatesAt and retirement it is current;
// keys activate in generation order, so at most one key is current.
func Plan(recs []storage.Key, p Policy, now time.Time) Schedule {
	sorted := slices.Clone(recs)
	slices.SortFunc(sorted, func(a, b storage.Key) int {
		if c := cmp.Compare(b.Generation, a.Generation); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	s := Schedule{At: now, Keys: make([]Status, len(sorted))}
	var superseded time.Time // earliest activation of a newer key that signs
	for i, r := range sorted {
		st := Status{Record: r, RetiresAt: earliest(r.RetiresAt, superseded)}
		switch {
		case !r.RemoveAt.IsZero():
			st.RemoveAt = r.RemoveAt
		case !st.RetiresAt.IsZero():
			st.RemoveAt = st.RetiresAt.Add(p.Retention())
		}
		switch {
		case !st.RemoveAt.IsZero() && !now.Before(st.RemoveAt):
			st.State = StateRemoved
		case !st.RetiresAt.IsZero() && !now.Before(st.RetiresAt):
			st.State = StateRetired
		case now.Before(r.ActivatesAt):
			st.State = StateNext
		default:
			st.State = StateCurrent
		}
		if st.signs() {
			superseded = earliest(superseded, r.ActivatesAt)
		}
		s.Keys[i] = st
	}
	return s
}

// signs reports whether the key signs at some point: it was not retired
// before its activation.
func (s *Status) signs() bool {
	return s.RetiresAt.IsZero() || s.RetiresAt.After(s.Record.ActivatesAt)
}

// Current returns the signing key, or nil.
func (s Schedule) Current() *Status {
	for i := range s.Keys {
		if s.Keys[i].State == StateCurrent {
			return &s.Keys[i]
		}
	}
	return nil
}

// Next returns the key that will sign after the current one, or nil.
func (s Schedule) Next() *Status {
	var next *Status
	for i := range s.Keys {
		k := &s.Keys[i]
		if k.State == StateCurrent {
			break
		}
		if k.State == StateNext && k.signs() {
			next = k // the oldest next key newer than the current one
		}
	}
	return next
}

// Find returns the key with kid, or nil.
func (s Schedule) Find(kid string) *Status {
	for i := range s.Keys {
		if s.Keys[i].Record.ID == kid {
			return &s.Keys[i]
		}
	}
	return nil
}

// MaxGeneration is the highest stored generation (0 for an empty store).
func (s Schedule) MaxGeneration() int64 {
	if len(s.Keys) == 0 {
		return 0
	}
	return s.Keys[0].Record.Generation
}

// NextKeyDue is when the next key must be created under automatic rotation
// for it to be published Lead before the current key's period ends; zero
// when no key is due (manual rotation, no current key, or a next key
// exists).
func (s Schedule) NextKeyDue(p Policy) time.Time {
	cur := s.Current()
	if p.Rotation <= 0 || cur == nil || s.Next() != nil {
		return time.Time{}
	}
	return cur.Record.ActivatesAt.Add(p.Rotation - p.Lead())
}

// NextEvent is the first instant after At at which the schedule changes
// (a key activates, retires or is removed, or a next key is due); zero if
// none is known.
func (s Schedule) NextEvent(p Policy) time.Time {
	var ev time.Time
	consider := func(t time.Time) {
		if t.After(s.At) {
			ev = earliest(ev, t)
		}
	}
	for _, k := range s.Keys {
		consider(k.Record.ActivatesAt)
		consider(k.RetiresAt)
		consider(k.RemoveAt)
	}
	consider(s.NextKeyDue(p))
	return ev
}

// earliest returns the earlier of two times, a zero time meaning "never".
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
