package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// ListSessions implements storage.SessionStore: the newest token of each
// live chain is the one neither rotated nor revoked.
func (s *Store) ListSessions(ctx context.Context, subject string) ([]storage.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT signature, request_id, client_id, subject, created_at, expires_at,
			chain_started_at, user_agent, ip
		FROM refresh_tokens
		WHERE subject = ? AND rotated_at = 0 AND revoked = 0 AND expires_at > ?
		ORDER BY created_at DESC LIMIT 1000`, subject, ts(time.Now()))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []storage.Token
	for rows.Next() {
		var (
			t                         storage.Token
			created, expires, started int64
		)
		if err := rows.Scan(&t.Signature, &t.RequestID, &t.ClientID, &t.Subject, &created, &expires, &started, &t.UserAgent, &t.IP); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		t.CreatedAt, t.ExpiresAt, t.ChainStartedAt = fromTS(created), fromTS(expires), fromTS(started)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// TakeAttempt implements storage.AttemptStore: counting the window's slots
// and inserting the next one happen in one BEGIN IMMEDIATE transaction, so
// no two callers take the same slot and at most limit succeed.
func (s *Store) TakeAttempt(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, error) {
	start := now.Truncate(window)
	ok := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_attempts WHERE key = ? AND window_start = ?`,
			key, ts(start)).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_attempts (key, window_start, slot, expires_at) VALUES (?, ?, ?, ?)`,
			key, ts(start), n, ts(start.Add(window))); err != nil {
			return err
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("take login attempt: %w", err)
	}
	return ok, nil
}

// ResetAttempts implements storage.AttemptStore.
func (s *Store) ResetAttempts(ctx context.Context, key string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE key = ?`, key); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM login_locks WHERE key = ?`, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("reset login attempts: %w", err)
	}
	return nil
}

// Lock implements storage.AttemptStore.
func (s *Store) Lock(ctx context.Context, key string, until time.Time, count int, forget time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO login_locks (key, until, count, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET until = excluded.until, count = excluded.count, expires_at = excluded.expires_at`,
		key, ts(until), count, ts(forget))
	if err != nil {
		return fmt.Errorf("lock login: %w", err)
	}
	return nil
}

// LockedUntil implements storage.AttemptStore.
func (s *Store) LockedUntil(ctx context.Context, key string, now time.Time) (time.Time, int, error) {
	var until int64
	var count int
	err := s.r.QueryRowContext(ctx, `SELECT until, count FROM login_locks WHERE key = ? AND expires_at > ?`, key, ts(now)).Scan(&until, &count)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, 0, nil
	}
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("read login lock: %w", err)
	}
	return fromTS(until), count, nil
}
