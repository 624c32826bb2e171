package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// key returns a key record of generation gen.
func key(id string, gen int64, created time.Time, state string) *storage.Key {
	return &storage.Key{
		ID:          id,
		Algorithm:   "RS256",
		Generation:  gen,
		State:       state,
		PrivateKey:  []byte{0x00, 0x01, 0xfe, 0xff, byte(len(id))},
		PublicJWK:   []byte(`{"kty":"RSA","kid":"` + id + `","n":"AQAB","e":"AQAB"}`),
		CreatedAt:   created,
		ActivatesAt: created.Add(15 * time.Minute),
	}
}

func checkKey(t *testing.T, got, want *storage.Key) {
	t.Helper()
	if got.ID != want.ID || got.Algorithm != want.Algorithm || got.State != want.State || got.Generation != want.Generation {
		t.Errorf("key = %s/%s/%s/%d, want %s/%s/%s/%d", got.ID, got.Algorithm, got.State, got.Generation,
			want.ID, want.Algorithm, want.State, want.Generation)
	}
	if !bytes.Equal(got.PrivateKey, want.PrivateKey) || !bytes.Equal(got.PublicJWK, want.PublicJWK) {
		t.Errorf("key %s: key material differs", want.ID)
	}
	sameTime(t, want.ID+" CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, want.ID+" ActivatesAt", got.ActivatesAt, want.ActivatesAt)
	sameTime(t, want.ID+" RetiresAt", got.RetiresAt, want.RetiresAt)
	sameTime(t, want.ID+" RemoveAt", got.RemoveAt, want.RemoveAt)
}

var keyCases = []testCase{
	{name: "ListEmpty", run: func(t *testing.T, s storage.Store) {
		keys, err := s.ListKeys(ctxOf(t))
		must(t, err, "ListKeys")
		if len(keys) != 0 {
			t.Errorf("ListKeys = %d keys, want none", len(keys))
		}
	}},
	{name: "CreateListNewestFirst", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		base := now().Add(-time.Hour)
		// Created out of order: the list is ordered by CreatedAt.
		k2 := key("kid-2", 2, base.Add(time.Minute), storage.KeyCurrent)
		k1 := key("kid-1", 1, base, storage.KeyRetired)
		k1.RetiresAt, k1.RemoveAt = base.Add(30*time.Minute), base.Add(24*time.Hour)
		k3 := key("kid-3", 3, base.Add(2*time.Minute), storage.KeyNext)
		for _, k := range []*storage.Key{k2, k1, k3} {
			must(t, s.CreateKey(ctx, k), "CreateKey "+k.ID)
		}
		keys, err := s.ListKeys(ctx)
		must(t, err, "ListKeys")
		if len(keys) != 3 {
			t.Fatalf("ListKeys = %d keys, want 3", len(keys))
		}
		for i, want := range []*storage.Key{k3, k2, k1} {
			checkKey(t, &keys[i], want)
		}
	}},
	{name: "DuplicateIDConflicts", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		k := key("kid-1", 1, now(), storage.KeyCurrent)
		must(t, s.CreateKey(ctx, k), "CreateKey")
		wantErr(t, s.CreateKey(ctx, key("kid-1", 2, now(), storage.KeyNext)), storage.ErrConflict, "CreateKey with a duplicate id")
		keys, err := s.ListKeys(ctx)
		must(t, err, "ListKeys")
		if len(keys) != 1 {
			t.Fatalf("ListKeys = %d keys, want 1", len(keys))
		}
		checkKey(t, &keys[0], k)
	}},
	{name: "UpdateReplaces", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		k := key("kid-1", 7, now(), storage.KeyCurrent)
		must(t, s.CreateKey(ctx, k), "CreateKey")
		k.State = storage.KeyRetired
		k.RetiresAt = now()
		k.RemoveAt = now().Add(time.Hour)
		k.PublicJWK = []byte(`{"kty":"RSA","kid":"kid-1","n":"changed","e":"AQAB"}`)
		k.ActivatesAt = now().Add(-time.Minute)
		must(t, s.UpdateKey(ctx, k), "UpdateKey")
		// The generation is the key's identity in the schedule: an update
		// never moves it.
		moved := *k
		moved.Generation = 8
		must(t, s.UpdateKey(ctx, &moved), "UpdateKey with another generation")
		keys, err := s.ListKeys(ctx)
		must(t, err, "ListKeys")
		if len(keys) != 1 {
			t.Fatalf("ListKeys = %d keys, want 1", len(keys))
		}
		checkKey(t, &keys[0], k)
		// Zero times are stored as zero.
		k.RetiresAt, k.RemoveAt = time.Time{}, time.Time{}
		must(t, s.UpdateKey(ctx, k), "UpdateKey clearing times")
		keys, err = s.ListKeys(ctx)
		must(t, err, "ListKeys")
		checkKey(t, &keys[0], k)
	}},
	{name: "DuplicateGenerationConflicts", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		k := key("kid-a", 1, now(), storage.KeyCurrent)
		must(t, s.CreateKey(ctx, k), "CreateKey")
		wantErr(t, s.CreateKey(ctx, key("kid-b", 1, now(), storage.KeyNext)), storage.ErrConflict, "CreateKey of an existing generation")
		must(t, s.CreateKey(ctx, key("kid-b", 2, now(), storage.KeyNext)), "CreateKey of the next generation")
		keys, err := s.ListKeys(ctx)
		must(t, err, "ListKeys")
		if len(keys) != 2 {
			t.Fatalf("ListKeys = %d keys, want 2", len(keys))
		}
		// A deleted generation may be created again (a next key an
		// operator retired and the janitor removed).
		must(t, s.DeleteKey(ctx, "kid-b"), "DeleteKey")
		must(t, s.CreateKey(ctx, key("kid-c", 2, now(), storage.KeyNext)), "CreateKey of a freed generation")
	}},
	{name: "CreateGenerationRaceHasOneWinner", trials: trials, run: func(t *testing.T, s storage.Store) {
		// Instances that decide to rotate at the same moment each insert
		// their own key as generation 2: exactly one insert succeeds.
		ctx := ctxOf(t)
		must(t, s.CreateKey(ctx, key("kid-1", 1, now(), storage.KeyCurrent)), "CreateKey")
		const n = 10
		errs := race(n, func(i int) error {
			return s.CreateKey(ctx, key(fmt.Sprintf("kid-2-%d", i), 2, now(), storage.KeyNext))
		})
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil && winner != "":
				t.Fatalf("two inserts of generation 2 succeeded: %s and kid-2-%d", winner, i)
			case err == nil:
				winner = fmt.Sprintf("kid-2-%d", i)
			case !errors.Is(err, storage.ErrConflict):
				t.Fatalf("insert %d: %v, want nil or ErrConflict", i, err)
			}
		}
		if winner == "" {
			t.Fatal("no insert of generation 2 succeeded")
		}
		keys, err := s.ListKeys(ctx)
		must(t, err, "ListKeys")
		if len(keys) != 2 || (keys[0].ID != winner && keys[1].ID != winner) {
			t.Fatalf("ListKeys = %v, want kid-1 and %s", keys, winner)
		}
	}},
	{name: "UpdateUnknownNotFound", run: func(t *testing.T, s storage.Store) {
		err := s.UpdateKey(ctxOf(t), key("nope", 1, now(), storage.KeyCurrent))
		wantErr(t, err, storage.ErrNotFound, "UpdateKey of an unknown key")
	}},
	{name: "DeleteRemoves", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		must(t, s.CreateKey(ctx, key("kid-1", 1, now(), storage.KeyRetired)), "CreateKey")
		must(t, s.CreateKey(ctx, key("kid-2", 2, now().Add(time.Second), storage.KeyCurrent)), "CreateKey")
		must(t, s.DeleteKey(ctx, "kid-1"), "DeleteKey")
		must(t, s.DeleteKey(ctx, "kid-1"), "DeleteKey again")
		keys, err := s.ListKeys(ctx)
		must(t, err, "ListKeys")
		if len(keys) != 1 || keys[0].ID != "kid-2" {
			t.Errorf("ListKeys after delete = %v, want only kid-2", keys)
		}
	}},
}

var maintenanceCases = []testCase{
	{name: "Ping", run: func(t *testing.T, s storage.Store) {
		must(t, s.Ping(ctxOf(t)), "Ping")
	}},
	{name: "DeleteExpiredRemovesOnlyExpired", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		rid := uniq("req")
		expAccess := token(uniq("at"), rid, -time.Minute)
		expRefresh := token(uniq("rt"), rid, -time.Minute)
		expCode := token(uniq("ac"), rid, -time.Minute)
		liveAccess := token(uniq("at"), rid, time.Hour)
		liveRefresh := token(uniq("rt"), rid, time.Hour)
		liveCode := token(uniq("ac"), rid, time.Hour)
		for _, a := range []*storage.Token{expAccess, liveAccess} {
			must(t, s.CreateAccessToken(ctx, a), "CreateAccessToken")
		}
		for _, r := range []*storage.Token{expRefresh, liveRefresh} {
			must(t, s.CreateRefreshToken(ctx, r), "CreateRefreshToken")
		}
		for _, c := range []*storage.Token{expCode, liveCode} {
			must(t, s.CreateAuthCode(ctx, c), "CreateAuthCode")
		}
		n, err := s.DeleteExpired(ctx, time.Now())
		must(t, err, "DeleteExpired")
		if n != 3 {
			t.Errorf("DeleteExpired = %d, want 3", n)
		}
		n, err = s.DeleteExpired(ctx, time.Now())
		must(t, err, "DeleteExpired again")
		if n != 0 {
			t.Errorf("second DeleteExpired = %d, want 0", n)
		}
		_, err = s.GetAccessToken(ctx, liveAccess.Signature)
		must(t, err, "GetAccessToken of a live token")
		getRefresh(t, ctx, s, liveRefresh.Signature)
		_, err = s.GetAuthCode(ctx, liveCode.Signature)
		must(t, err, "GetAuthCode of a live code")
		// The expired signatures are free again.
		for _, a := range []*storage.Token{expAccess} {
			must(t, s.CreateAccessToken(ctx, token(a.Signature, rid, time.Hour)), "re-create a deleted access token")
		}
		must(t, s.CreateRefreshToken(ctx, token(expRefresh.Signature, rid, time.Hour)), "re-create a deleted refresh token")
		must(t, s.CreateAuthCode(ctx, token(expCode.Signature, rid, time.Hour)), "re-create a deleted code")
	}},
	{name: "DeleteExpiredKeepsUsersClientsKeys", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		u, err := s.UpsertUser(ctx, &storage.User{Username: "aigerim", PasswordHash: "h"})
		must(t, err, "UpsertUser")
		must(t, s.UpsertClient(ctx, &storage.Client{ID: "c"}), "UpsertClient")
		must(t, s.CreateKey(ctx, key("kid", 1, now(), storage.KeyCurrent)), "CreateKey")
		_, err = s.DeleteExpired(ctx, time.Now().Add(365*24*time.Hour))
		must(t, err, "DeleteExpired")
		_, err = s.GetUser(ctx, u.ID)
		must(t, err, "GetUser")
		_, err = s.GetClient(ctx, "c")
		must(t, err, "GetClient")
		keys, err := s.ListKeys(ctx)
		must(t, err, "ListKeys")
		if len(keys) != 1 {
			t.Errorf("ListKeys = %d keys, want 1", len(keys))
		}
	}},
	{name: "DeleteExpiredAfterRotationsAndUse", run: func(t *testing.T, s storage.Store) {
		// Whatever bookkeeping a backend keeps for rotations, revocations
		// and used codes goes once everything expired.
		ctx := ctxOf(t)
		c := makeChain(t, s, 2)
		must(t, s.RevokeChain(ctx, c.rid), "RevokeChain")
		code := token(uniq("ac"), c.rid, time.Hour)
		must(t, s.CreateAuthCode(ctx, code), "CreateAuthCode")
		must(t, s.UseAuthCode(ctx, code.Signature), "UseAuthCode")
		n, err := s.DeleteExpired(ctx, time.Now().Add(400*24*time.Hour))
		must(t, err, "DeleteExpired")
		if n < 4 {
			t.Errorf("DeleteExpired = %d, want at least the 3 refresh tokens and the code", n)
		}
		n, err = s.DeleteExpired(ctx, time.Now().Add(400*24*time.Hour))
		must(t, err, "DeleteExpired again")
		if n != 0 {
			t.Errorf("second DeleteExpired = %d, want 0", n)
		}
		for _, r := range c.refresh {
			if _, err := s.GetRefreshToken(ctx, r.Signature); !errorsIsNotFound(err) {
				t.Errorf("GetRefreshToken after expiry = %v, want ErrNotFound", err)
			}
		}
		// A re-created token of the same signature starts clean.
		fresh := token(c.refresh[0].Signature, uniq("req"), time.Hour)
		must(t, s.CreateRefreshToken(ctx, fresh), "re-create refresh token")
		got := getRefresh(t, ctx, s, fresh.Signature)
		if !got.Active(time.Now()) {
			t.Errorf("re-created token not active: %+v", got)
		}
		freshCode := token(code.Signature, uniq("req"), time.Hour)
		must(t, s.CreateAuthCode(ctx, freshCode), "re-create code")
		must(t, s.UseAuthCode(ctx, freshCode.Signature), "UseAuthCode of the re-created code")
	}},
}
