package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/qaznat/qazauth/storage"
)

var userCases = []testCase{
	{name: "UpsertCreatesWithGeneratedID", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		before := time.Now().Add(-time.Second)
		u, err := s.UpsertUser(ctx, &storage.User{
			Username:      "Aigerim",
			PasswordHash:  "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
			Email:         "aigerim@example.kz",
			EmailVerified: true,
			Roles:         []string{"translator", "admin"},
		})
		must(t, err, "UpsertUser")
		if u.ID == "" {
			t.Fatal("UpsertUser returned no ID")
		}
		if u.Username != "aigerim" {
			t.Errorf("Username = %q, want it in lower case", u.Username)
		}
		if u.CreatedAt.Before(before) || u.UpdatedAt.Before(before) {
			t.Errorf("CreatedAt, UpdatedAt = %v, %v; want them set to now", u.CreatedAt, u.UpdatedAt)
		}
		got, err := s.GetUser(ctx, u.ID)
		must(t, err, "GetUser")
		if got.ID != u.ID || got.Username != "aigerim" || got.PasswordHash != u.PasswordHash ||
			got.Email != "aigerim@example.kz" || !got.EmailVerified || got.Disabled {
			t.Errorf("GetUser = %+v, want the upserted user %+v", got, u)
		}
		sameStrings(t, "Roles", got.Roles, []string{"translator", "admin"})
		sameTime(t, "CreatedAt", got.CreatedAt.Truncate(time.Millisecond), u.CreatedAt.Truncate(time.Millisecond))
	}},
	{name: "UpsertKeepsExplicitIDOfNewUser", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		u, err := s.UpsertUser(ctx, &storage.User{ID: "user-42", Username: "erlan", PasswordHash: "h"})
		must(t, err, "UpsertUser")
		if u.ID != "user-42" {
			t.Errorf("ID = %q, want user-42", u.ID)
		}
		got, err := s.GetUser(ctx, "user-42")
		must(t, err, "GetUser")
		if got.Username != "erlan" {
			t.Errorf("Username = %q, want erlan", got.Username)
		}
	}},
	{name: "UpsertSameUsernameKeepsIDAndUpdatesFields", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		first, err := s.UpsertUser(ctx, &storage.User{Username: "aigerim", PasswordHash: "h1", Email: "a@example.kz", Roles: []string{"translator"}})
		must(t, err, "first UpsertUser")
		stored, err := s.GetUser(ctx, first.ID)
		must(t, err, "GetUser")
		time.Sleep(5 * time.Millisecond)
		// A different case, no ID, and even a different requested ID: the
		// stored ID is kept.
		for i, id := range []string{"", "some-other-id"} {
			second, err := s.UpsertUser(ctx, &storage.User{
				ID: id, Username: "AIGERIM", PasswordHash: "h2", Email: "b@example.kz",
				EmailVerified: true, Roles: []string{"admin"}, Disabled: true,
			})
			must(t, err, "second UpsertUser")
			if second.ID != first.ID {
				t.Fatalf("upsert %d: ID = %q, want the existing %q", i, second.ID, first.ID)
			}
			got, err := s.GetUserByUsername(ctx, "Aigerim")
			must(t, err, "GetUserByUsername")
			if got.ID != first.ID || got.PasswordHash != "h2" || got.Email != "b@example.kz" || !got.EmailVerified || !got.Disabled {
				t.Errorf("after re-upsert got %+v, want updated fields under the same ID", got)
			}
			sameStrings(t, "Roles", got.Roles, []string{"admin"})
			sameTime(t, "CreatedAt", got.CreatedAt, stored.CreatedAt)
			if !got.UpdatedAt.After(stored.UpdatedAt) {
				t.Errorf("UpdatedAt = %v, want after %v", got.UpdatedAt, stored.UpdatedAt)
			}
			if !second.CreatedAt.Truncate(time.Millisecond).Equal(stored.CreatedAt.Truncate(time.Millisecond)) {
				t.Errorf("returned CreatedAt = %v, want the stored %v", second.CreatedAt, stored.CreatedAt)
			}
			if _, err := s.GetUser(ctx, "some-other-id"); !errorsIsNotFound(err) {
				t.Errorf("GetUser(requested id) = %v, want ErrNotFound", err)
			}
		}
	}},
	{name: "UpsertIDTakenByAnotherUsernameConflicts", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		_, err := s.UpsertUser(ctx, &storage.User{ID: "user-1", Username: "aigerim", PasswordHash: "h"})
		must(t, err, "UpsertUser")
		_, err = s.UpsertUser(ctx, &storage.User{ID: "user-1", Username: "erlan", PasswordHash: "h"})
		wantErr(t, err, storage.ErrConflict, "UpsertUser with a taken ID")
		got, err := s.GetUser(ctx, "user-1")
		must(t, err, "GetUser")
		if got.Username != "aigerim" {
			t.Errorf("Username = %q, want aigerim untouched", got.Username)
		}
	}},
	{name: "GetUserByUsernameIgnoresCase", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		u, err := s.UpsertUser(ctx, &storage.User{Username: "Dana", PasswordHash: "h"})
		must(t, err, "UpsertUser")
		for _, name := range []string{"dana", "DANA", "Dana"} {
			got, err := s.GetUserByUsername(ctx, name)
			must(t, err, "GetUserByUsername "+name)
			if got.ID != u.ID {
				t.Errorf("GetUserByUsername(%q).ID = %q, want %q", name, got.ID, u.ID)
			}
		}
	}},
	{name: "NilRolesReadBackEmpty", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		u, err := s.UpsertUser(ctx, &storage.User{Username: "noroles", PasswordHash: "h"})
		must(t, err, "UpsertUser")
		got, err := s.GetUser(ctx, u.ID)
		must(t, err, "GetUser")
		if len(got.Roles) != 0 {
			t.Errorf("Roles = %q, want none", got.Roles)
		}
	}},
	{name: "UnknownUserNotFound", run: func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		_, err := s.GetUser(ctx, "nobody")
		wantErr(t, err, storage.ErrNotFound, "GetUser")
		_, err = s.GetUserByUsername(ctx, "nobody")
		wantErr(t, err, storage.ErrNotFound, "GetUserByUsername")
	}},
}

func errorsIsNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
