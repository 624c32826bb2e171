package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qaznat/qazauth/storage"
)

const userColumns = `id, username, password_hash, email, email_verified, roles, disabled, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (*storage.User, error) {
	var (
		u                  storage.User
		roles              string
		verified, disabled int64
		created, updated   int64
	)
	err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.Email, &verified, &roles, &disabled, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return nil, fmt.Errorf("decode roles: %w", err)
	}
	u.EmailVerified, u.Disabled = verified != 0, disabled != 0
	u.CreatedAt, u.UpdatedAt = fromTS(created), fromTS(updated)
	return &u, nil
}

// GetUser implements storage.UserStore.
func (s *Store) GetUser(ctx context.Context, id string) (*storage.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// GetUserByUsername implements storage.UserStore.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (*storage.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, strings.ToLower(username)))
	if err != nil {
		return nil, fmt.Errorf("get user by username: %w", err)
	}
	return u, nil
}

// UpsertUser implements storage.UserStore.
func (s *Store) UpsertUser(ctx context.Context, u *storage.User) (*storage.User, error) {
	out := *u
	out.Username = strings.ToLower(u.Username)
	if out.ID == "" {
		out.ID = rand.Text()
	}
	roles, err := json.Marshal(nonNil(u.Roles))
	if err != nil {
		return nil, fmt.Errorf("encode roles: %w", err)
	}
	now := time.Now().UTC()
	var created int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
			INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(username) DO UPDATE SET
				password_hash = excluded.password_hash, email = excluded.email,
				email_verified = excluded.email_verified, roles = excluded.roles,
				disabled = excluded.disabled, updated_at = excluded.updated_at
			RETURNING id, created_at`,
			out.ID, out.Username, out.PasswordHash, out.Email, b2i(out.EmailVerified), string(roles), b2i(out.Disabled), ts(now), ts(now),
		).Scan(&out.ID, &created)
	})
	if err != nil {
		// A new username with an ID that another user already has.
		return nil, fmt.Errorf("upsert user: %w", conflict(err))
	}
	out.CreatedAt, out.UpdatedAt = fromTS(created), now
	return &out, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
