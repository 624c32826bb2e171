package keys

import (
	"testing"
	"time"

	"github.com/qaznat/qazauth/storage"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func rec(kid string, gen int64, created, activates time.Time) storage.Key {
	return storage.Key{ID: kid, Generation: gen, CreatedAt: created, ActivatesAt: activates}
}

func TestPlanDerivesStatesFromTimestamps(t *testing.T) {
	t.Parallel()
	p := Policy{Rotation: time.Hour, JWKSMaxAge: 10 * time.Minute, TokenTTL: 15 * time.Minute, Reload: 30 * time.Second, Margin: time.Minute}
	k1 := rec("k1", 1, t0, t0)
	k2 := rec("k2", 2, t0.Add(49*time.Minute), t0.Add(time.Hour))
	retiredK2 := k2
	retiredK2.RetiresAt = t0.Add(50 * time.Minute)
	removedK1 := k1
	removedK1.RemoveAt = t0.Add(30 * time.Minute)

	cases := []struct {
		name string
		recs []storage.Key
		at   time.Time
		want map[string]State
		cur  string
		next string
	}{
		{"one key", []storage.Key{k1}, t0.Add(time.Minute), map[string]State{"k1": StateCurrent}, "k1", ""},
		{"next published", []storage.Key{k1, k2}, t0.Add(50 * time.Minute), map[string]State{"k1": StateCurrent, "k2": StateNext}, "k1", "k2"},
		{"at activation", []storage.Key{k1, k2}, t0.Add(time.Hour), map[string]State{"k1": StateRetired, "k2": StateCurrent}, "k2", ""},
		{"retired until its tokens expired", []storage.Key{k1, k2}, t0.Add(time.Hour + 25*time.Minute - time.Nanosecond), map[string]State{"k1": StateRetired, "k2": StateCurrent}, "k2", ""},
		{"then removed", []storage.Key{k1, k2}, t0.Add(time.Hour + 25*time.Minute), map[string]State{"k1": StateRemoved, "k2": StateCurrent}, "k2", ""},
		{"next retired by the operator never signs", []storage.Key{k1, retiredK2}, t0.Add(70 * time.Minute), map[string]State{"k1": StateCurrent, "k2": StateRetired}, "k1", ""},
		{"explicit removal", []storage.Key{removedK1, k2}, t0.Add(30 * time.Minute), map[string]State{"k1": StateRemoved, "k2": StateNext}, "", "k2"},
		{"before the first activation", []storage.Key{rec("k1", 1, t0, t0.Add(time.Minute))}, t0, map[string]State{"k1": StateNext}, "", "k1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Plan(c.recs, p, c.at)
			for kid, st := range c.want {
				if got := s.Find(kid).State; got != st {
					t.Errorf("%s: state %s, want %s", kid, got, st)
				}
			}
			if cur := s.Current(); (cur == nil) != (c.cur == "") || (cur != nil && cur.Record.ID != c.cur) {
				t.Errorf("current = %v, want %q", cur, c.cur)
			}
			if nxt := s.Next(); (nxt == nil) != (c.next == "") || (nxt != nil && nxt.Record.ID != c.next) {
				t.Errorf("next = %v, want %q", nxt, c.next)
			}
		})
	}

	s := Plan([]storage.Key{k1, k2}, p, t0.Add(50*time.Minute))
	if got := s.Find("k1").RetiresAt; !got.Equal(k2.ActivatesAt) {
		t.Errorf("k1 retires at %v, want the activation of k2 %v", got, k2.ActivatesAt)
	}
	if got, want := s.Find("k1").RemoveAt, k2.ActivatesAt.Add(p.TokenTTL+p.JWKSMaxAge); !got.Equal(want) {
		t.Errorf("k1 removed at %v, want %v", got, want)
	}
	if got := s.NextEvent(p); !got.Equal(k2.ActivatesAt) {
		t.Errorf("next event %v, want %v", got, k2.ActivatesAt)
	}
}

func TestNextKeyDueLeadsTheRotation(t *testing.T) {
	t.Parallel()
	p := Policy{Rotation: time.Hour, JWKSMaxAge: 10 * time.Minute, Margin: time.Minute}
	s := Plan([]storage.Key{rec("k1", 1, t0, t0)}, p, t0)
	if got, want := s.NextKeyDue(p), t0.Add(49*time.Minute); !got.Equal(want) {
		t.Errorf("next key due %v, want %v (rotation minus max age minus margin)", got, want)
	}
	if got := s.NextEvent(p); !got.Equal(t0.Add(49 * time.Minute)) {
		t.Errorf("next event %v, want the due time", got)
	}
	p.Rotation = 0
	if got := s.NextKeyDue(p); !got.IsZero() {
		t.Errorf("manual rotation: next key due %v, want never", got)
	}
}

func TestNewPolicy(t *testing.T) {
	t.Parallel()
	p := NewPolicy(720*time.Hour, 15*time.Minute, 15*time.Minute)
	if p.Reload != 30*time.Second || p.Lead() != 16*time.Minute || p.Retention() != 30*time.Minute {
		t.Errorf("defaults: reload %v lead %v retention %v", p.Reload, p.Lead(), p.Retention())
	}
	if p := NewPolicy(time.Minute, 2*time.Second, time.Second); p.Reload != 500*time.Millisecond || p.Lead() != 3*time.Second {
		t.Errorf("short max age: reload %v lead %v", p.Reload, p.Lead())
	}
}
