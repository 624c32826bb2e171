package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/qaznat/qazauth/storage"
)

// ListKeys implements storage.KeyStore.
func (s *Store) ListKeys(ctx context.Context) ([]storage.Key, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, algorithm, generation, state, private_key, public_jwk, created_at, activates_at, retires_at, remove_at
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
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Generation, &k.State, &k.PrivateKey, &k.PublicJWK, &created, &activates, &retires, &remove); err != nil {
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

// CreateKey implements storage.KeyStore. The unique index on generation
// makes the insert the once-only decision between instances.
func (s *Store) CreateKey(ctx context.Context, k *storage.Key) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO signing_keys
		(id, algorithm, generation, state, private_key, public_jwk, created_at, activates_at, retires_at, remove_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.Generation, k.State, k.PrivateKey, k.PublicJWK, ts(k.CreatedAt), ts(k.ActivatesAt), ts(k.RetiresAt), ts(k.RemoveAt))
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

// migrateKeys adds the generation column to databases created before key
// rotation, numbering their keys in creation order, then the unique index
// that makes "create generation N" a once-only decision. It is idempotent
// and runs in one BEGIN IMMEDIATE transaction, so two processes opening an
// old database at once do not both alter it.
func (s *Store) migrateKeys(ctx context.Context) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('signing_keys') WHERE name = 'generation'`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE signing_keys ADD COLUMN generation INTEGER NOT NULL DEFAULT 0`); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET generation = (
				SELECT COUNT(*) FROM signing_keys o
				WHERE o.created_at < signing_keys.created_at
				   OR (o.created_at = signing_keys.created_at AND o.id <= signing_keys.id))`); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_generation ON signing_keys(generation)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate signing_keys: %w", err)
	}
	return nil
}
