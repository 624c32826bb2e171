package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// GetClient implements storage.ClientStore.
func (s *Store) GetClient(ctx context.Context, id string) (*storage.Client, error) {
	var data string
	err := s.r.QueryRowContext(ctx, `SELECT data FROM clients WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get client: %w", storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get client: %w", err)
	}
	var c storage.Client
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		return nil, fmt.Errorf("decode client %q: %w", id, err)
	}
	return &c, nil
}

// UpsertClient implements storage.ClientStore.
func (s *Store) UpsertClient(ctx context.Context, c *storage.Client) error {
	now := time.Now().UTC()
	cc := *c
	if cc.CreatedAt.IsZero() {
		cc.CreatedAt = now
	}
	cc.UpdatedAt = now
	data, err := json.Marshal(cc)
	if err != nil {
		return fmt.Errorf("encode client: %w", err)
	}
	_, err = s.w.ExecContext(ctx, `
		INSERT INTO clients (id, data, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		cc.ID, string(data), ts(now), ts(now))
	if err != nil {
		return fmt.Errorf("upsert client: %w", err)
	}
	return nil
}
