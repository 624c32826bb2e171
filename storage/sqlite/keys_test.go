package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// TestMigrateKeysNumbersLegacyKeys opens a database whose signing_keys
// table predates key rotation (no generation column): its keys get
// generations in creation order, the unique index guards new ones, and
// opening again changes nothing.
func TestMigrateKeysNumbersLegacyKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "qazauth.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).UnixNano()
	for _, stmt := range []string{
		`CREATE TABLE signing_keys (
			id           TEXT PRIMARY KEY,
			algorithm    TEXT NOT NULL,
			state        TEXT NOT NULL,
			private_key  BLOB NOT NULL,
			public_jwk   BLOB NOT NULL,
			created_at   INTEGER NOT NULL,
			activates_at INTEGER NOT NULL,
			retires_at   INTEGER NOT NULL DEFAULT 0,
			remove_at    INTEGER NOT NULL DEFAULT 0
		) STRICT`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	// Inserted out of creation order.
	for _, r := range []struct {
		id      string
		created int64
	}{{"newer", base + 2}, {"older", base + 1}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO signing_keys (id, algorithm, state, private_key, public_jwk, created_at, activates_at)
			VALUES (?, 'RS256', 'current', x'00', x'7b7d', ?, ?)`, r.id, r.created, r.created); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	for range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open legacy database: %v", err)
		}
		keys, err := s.ListKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, k := range keys {
			got[k.ID] = k.Generation
		}
		if got["older"] != 1 || got["newer"] != 2 {
			t.Fatalf("generations = %v, want older 1, newer 2", got)
		}
		err = s.CreateKey(ctx, &storage.Key{ID: "dup", Algorithm: "RS256", Generation: 2, PrivateKey: []byte{0}, PublicJWK: []byte("{}"), CreatedAt: time.Now()})
		if !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("CreateKey of generation 2 after migration: %v, want ErrConflict", err)
		}
		s.Close()
	}
}
