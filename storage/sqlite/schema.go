package sqlite

import (
	"context"
	"fmt"
)

// schema is applied idempotently at every start.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS users (
		id             TEXT PRIMARY KEY,
		username       TEXT NOT NULL UNIQUE,
		password_hash  TEXT NOT NULL,
		email          TEXT NOT NULL DEFAULT '',
		email_verified INTEGER NOT NULL DEFAULT 0,
		roles          TEXT NOT NULL DEFAULT '[]',
		disabled       INTEGER NOT NULL DEFAULT 0,
		created_at     INTEGER NOT NULL,
		updated_at     INTEGER NOT NULL
	) STRICT`,
	`CREATE TABLE IF NOT EXISTS clients (
		id         TEXT PRIMARY KEY,
		data       TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	) STRICT`,
	`CREATE TABLE IF NOT EXISTS access_tokens (
		signature  TEXT PRIMARY KEY,
		request_id TEXT NOT NULL,
		client_id  TEXT NOT NULL,
		subject    TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		data       BLOB NOT NULL
	) STRICT`,
	`CREATE INDEX IF NOT EXISTS access_tokens_request ON access_tokens(request_id)`,
	`CREATE INDEX IF NOT EXISTS access_tokens_expires ON access_tokens(expires_at)`,
	`CREATE TABLE IF NOT EXISTS refresh_tokens (
		signature        TEXT PRIMARY KEY,
		request_id       TEXT NOT NULL,
		client_id        TEXT NOT NULL,
		subject          TEXT NOT NULL,
		created_at       INTEGER NOT NULL,
		expires_at       INTEGER NOT NULL,
		chain_started_at INTEGER NOT NULL,
		rotated_at       INTEGER NOT NULL DEFAULT 0,
		successor        TEXT NOT NULL DEFAULT '',
		revoked          INTEGER NOT NULL DEFAULT 0,
		user_agent       TEXT NOT NULL DEFAULT '',
		ip               TEXT NOT NULL DEFAULT '',
		data             BLOB NOT NULL
	) STRICT`,
	`CREATE INDEX IF NOT EXISTS refresh_tokens_request ON refresh_tokens(request_id)`,
	`CREATE INDEX IF NOT EXISTS refresh_tokens_subject ON refresh_tokens(subject)`,
	`CREATE INDEX IF NOT EXISTS refresh_tokens_expires ON refresh_tokens(expires_at)`,
	`CREATE TABLE IF NOT EXISTS auth_codes (
		signature  TEXT PRIMARY KEY,
		request_id TEXT NOT NULL,
		client_id  TEXT NOT NULL,
		subject    TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		used       INTEGER NOT NULL DEFAULT 0,
		data       BLOB NOT NULL
	) STRICT`,
	`CREATE INDEX IF NOT EXISTS auth_codes_expires ON auth_codes(expires_at)`,
	`CREATE TABLE IF NOT EXISTS login_attempts (
		key          TEXT NOT NULL,
		window_start INTEGER NOT NULL,
		slot         INTEGER NOT NULL,
		expires_at   INTEGER NOT NULL,
		PRIMARY KEY (key, window_start, slot)
	) STRICT`,
	`CREATE INDEX IF NOT EXISTS login_attempts_expires ON login_attempts(expires_at)`,
	`CREATE TABLE IF NOT EXISTS login_locks (
		key        TEXT PRIMARY KEY,
		until      INTEGER NOT NULL,
		count      INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	) STRICT`,
	`CREATE TABLE IF NOT EXISTS signing_keys (
		id           TEXT PRIMARY KEY,
		algorithm    TEXT NOT NULL,
		generation   INTEGER NOT NULL DEFAULT 0,
		state        TEXT NOT NULL,
		private_key  BLOB NOT NULL,
		public_jwk   BLOB NOT NULL,
		created_at   INTEGER NOT NULL,
		activates_at INTEGER NOT NULL,
		retires_at   INTEGER NOT NULL DEFAULT 0,
		remove_at    INTEGER NOT NULL DEFAULT 0
	) STRICT`,
}

func (s *Store) migrate(ctx context.Context) error {
	for _, stmt := range schema {
		if _, err := s.w.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate sqlite schema: %w", err)
		}
	}
	return s.migrateKeys(ctx)
}
