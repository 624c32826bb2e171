package storage_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/qaznat/qazauth/passwords"
	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/storage/sqlite"
)

// TestLoginBudget_LockoutGrows: a spent budget locks the username for
// Lockout, the next lockout in a row for twice as long, and a success
// forgets both.
func TestLoginBudget_LockoutGrows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := passwords.New(passwords.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	hash, _ := h.Hash(ctx, "right")
	if _, err := st.UpsertUser(ctx, &storage.User{Username: "dana", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	f := storage.NewFosite(st, h, 0, time.Second)
	f.Now = func() time.Time { return clock }
	f.Budget = &storage.LoginBudget{Max: 2, Window: time.Hour, Lockout: time.Minute}
	try := func(pw string) error {
		_, err := f.CheckPassword(ctx, "dana", pw)
		return err
	}
	locked := func(err error) bool { return errors.Is(err, storage.ErrLockedOut) }

	for i := range 2 {
		if err := try("wrong"); !errors.Is(err, fosite.ErrNotFound) || locked(err) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if err := try("right"); !locked(err) {
		t.Fatalf("third attempt with the right password: %v, want locked", err)
	}
	clock = clock.Add(59 * time.Second)
	if err := try("right"); !locked(err) {
		t.Fatalf("within the first lockout: %v", err)
	}
	// The window's budget is still spent: the next attempt locks again, for
	// twice as long.
	clock = clock.Add(2 * time.Second)
	if err := try("right"); !locked(err) {
		t.Fatalf("budget still spent after the lockout: %v", err)
	}
	clock = clock.Add(119 * time.Second)
	if err := try("right"); !locked(err) {
		t.Fatalf("second lockout should last 2 minutes: %v", err)
	}
	// A new window, after the lock: the right password works and resets.
	clock = clock.Add(time.Hour)
	if err := try("right"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if until, n, _ := st.LockedUntil(ctx, "user:dana", clock); !until.IsZero() || n != 0 {
		t.Fatalf("success did not reset the lockout count: %v %d", until, n)
	}
}
