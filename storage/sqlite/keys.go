package sqlite

import (
	"context"
	"fmt"

	"github.com/qaznat/qazauth/storage"
)

// ListKeys implements storage.KeyStore.
func (s *Store) ListKeys(ctx context.Context) ([]storage.Key, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, algorithm, state, private_key, public_jwk, created_at, activates_at, retires_at, remove_at
		FROM signing_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var keys []storage.Key
	for rows.Next() {
		var (
			k                                   storage.Key
			created, activates, retires, remove int64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.State, &k.PrivateKey, &k.PublicJWK, &created, &activates, &retires, &remove); err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		k.CreatedAt, k.ActivatesAt, k.RetiresAt, k.RemoveAt = fromTS(created), fromTS(activates), fromTS(retires), fromTS(remove)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// CreateKey implements storage.KeyStore.
func (s *Store) CreateKey(ctx context.Context, k *storage.Key) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO signing_keys
		(id, algorithm, state, private_key, public_jwk, created_at, activates_at, retires_at, remove_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.State, k.PrivateKey, k.PublicJWK, ts(k.CreatedAt), ts(k.ActivatesAt), ts(k.RetiresAt), ts(k.RemoveAt))
	if err := conflict(err); err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return nil
}

// UpdateKey implements storage.KeyStore.
func (s *Store) UpdateKey(ctx context.Context, k *storage.Key) error {
	res, err := s.w.ExecContext(ctx, `UPDATE signing_keys SET algorithm = ?, state = ?, private_key = ?, public_jwk = ?,
		activates_at = ?, retires_at = ?, remove_at = ? WHERE id = ?`,
		k.Algorithm, k.State, k.PrivateKey, k.PublicJWK, ts(k.ActivatesAt), ts(k.RetiresAt), ts(k.RemoveAt), k.ID)
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update key %q: %w", k.ID, storage.ErrNotFound)
	}
	return nil
}

// DeleteKey implements storage.KeyStore.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM signing_keys WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	return nil
}
