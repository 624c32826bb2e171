package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// --- access tokens ---

// CreateAccessToken implements storage.TokenStore.
func (s *Store) CreateAccessToken(ctx context.Context, t *storage.Token) error {
	if err := insertAccess(ctx, s.w, t); err != nil {
		return fmt.Errorf("create access token: %w", err)
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const insertAccessSQL = `INSERT INTO access_tokens
		(signature, request_id, client_id, subject, created_at, expires_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?)`

func insertAccess(ctx context.Context, db execer, t *storage.Token) error {
	_, err := db.ExecContext(ctx, insertAccessSQL,
		t.Signature, t.RequestID, t.ClientID, t.Subject, ts(t.CreatedAt), ts(t.ExpiresAt), t.Data)
	return conflict(err)
}

// GetAccessToken implements storage.TokenStore.
func (s *Store) GetAccessToken(ctx context.Context, sig string) (*storage.Token, error) {
	var (
		t                storage.Token
		created, expires int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT signature, request_id, client_id, subject, created_at, expires_at, data
		FROM access_tokens WHERE signature = ? AND expires_at > ?`, sig, ts(time.Now())).
		Scan(&t.Signature, &t.RequestID, &t.ClientID, &t.Subject, &created, &expires, &t.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get access token: %w", storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get access token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromTS(created), fromTS(expires)
	return &t, nil
}

// DeleteAccessToken implements storage.TokenStore.
func (s *Store) DeleteAccessToken(ctx context.Context, sig string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM access_tokens WHERE signature = ?`, sig); err != nil {
		return fmt.Errorf("delete access token: %w", err)
	}
	return nil
}

// --- refresh tokens ---

// CreateRefreshToken implements storage.TokenStore.
func (s *Store) CreateRefreshToken(ctx context.Context, t *storage.Token) error {
	if err := insertRefresh(ctx, s.w, t); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

const insertRefreshSQL = `INSERT INTO refresh_tokens
		(signature, request_id, client_id, subject, created_at, expires_at, chain_started_at, user_agent, ip, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func insertRefresh(ctx context.Context, db execer, t *storage.Token) error {
	_, err := db.ExecContext(ctx, insertRefreshSQL,
		t.Signature, t.RequestID, t.ClientID, t.Subject, ts(t.CreatedAt), ts(t.ExpiresAt), ts(t.ChainStartedAt), t.UserAgent, t.IP, t.Data)
	return conflict(err)
}

// GetRefreshToken implements storage.TokenStore.
func (s *Store) GetRefreshToken(ctx context.Context, sig string) (*storage.Token, error) {
	var (
		t                                  storage.Token
		created, expires, started, rotated int64
		revoked                            int64
		succRotated, succRevoked           sql.NullInt64
	)
	err := s.getRefresh.QueryRowContext(ctx, sig, ts(time.Now())).
		Scan(&t.Signature, &t.RequestID, &t.ClientID, &t.Subject, &created, &expires, &started, &rotated,
			&t.Successor, &revoked, &t.UserAgent, &t.IP, &t.Data, &succRotated, &succRevoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get refresh token: %w", storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get refresh token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt, t.ChainStartedAt, t.RotatedAt = fromTS(created), fromTS(expires), fromTS(started), fromTS(rotated)
	t.Revoked = revoked != 0
	if t.Successor != "" {
		// A successor that is gone (deleted, expired) counts as used up.
		t.SuccessorRotated = !succRotated.Valid || succRotated.Int64 != 0 || succRevoked.Int64 != 0
	}
	return &t, nil
}

// DeleteRefreshToken implements storage.TokenStore.
func (s *Store) DeleteRefreshToken(ctx context.Context, sig string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE signature = ?`, sig); err != nil {
		return fmt.Errorf("delete refresh token: %w", err)
	}
	return nil
}

// RotateRefreshToken implements storage.TokenStore in one BEGIN IMMEDIATE
// transaction: the read and the conditional update cannot interleave with
// another writer.
func (s *Store) RotateRefreshToken(ctx context.Context, r storage.Rotation) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The common case in one statement: a live, never-rotated token
		// is marked rotated. No row means there is something to explain.
		res, err := tx.StmtContext(ctx, s.markRotated).ExecContext(ctx, ts(r.Now), r.New.Signature, r.Old, ts(r.Now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if err := insertRefresh(ctx, txStmt{ctx, tx, s.insRefresh}, &r.New); err != nil {
				return err
			}
			return s.insertAccessIfAny(ctx, tx, r.Access)
		}
		var (
			rotated, revoked, expires int64
			successor                 string
		)
		err = tx.StmtContext(ctx, s.lockRefresh).QueryRowContext(ctx, r.Old).
			Scan(&rotated, &revoked, &expires, &successor)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return storage.ErrNotFound
		case err != nil:
			return err
		case revoked != 0:
			return storage.ErrTokenRevoked
		case expires <= ts(r.Now):
			return storage.ErrNotFound
		}
		// Already rotated: only the same successor, within grace, while
		// the successor is itself still unused.
		if r.Grace <= 0 || successor != r.New.Signature || !r.Now.Before(fromTS(rotated).Add(r.Grace)) {
			return storage.ErrTokenRotated
		}
		var nRotated, nRevoked int64
		err = tx.QueryRowContext(ctx, `SELECT rotated_at, revoked FROM refresh_tokens WHERE signature = ?`, successor).Scan(&nRotated, &nRevoked)
		if errors.Is(err, sql.ErrNoRows) || nRotated != 0 || nRevoked != 0 {
			return storage.ErrTokenRotated
		}
		if err != nil {
			return err
		}
		return s.insertAccessIfAny(ctx, tx, r.Access)
	})
	if err != nil {
		return fmt.Errorf("rotate refresh token: %w", err)
	}
	return nil
}

func (s *Store) insertAccessIfAny(ctx context.Context, tx *sql.Tx, t *storage.Token) error {
	if t == nil {
		return nil
	}
	return insertAccess(ctx, txStmt{ctx, tx, s.insAccess}, t)
}

// txStmt runs a prepared statement inside tx; its query argument is
// ignored (the statement is the query).
type txStmt struct {
	ctx  context.Context
	tx   *sql.Tx
	stmt *sql.Stmt
}

func (t txStmt) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return t.tx.StmtContext(t.ctx, t.stmt).ExecContext(ctx, args...)
}

// RevokeChain implements storage.TokenStore.
func (s *Store) RevokeChain(ctx context.Context, requestID string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked = 1 WHERE request_id = ?`, requestID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM access_tokens WHERE request_id = ?`, requestID)
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke chain: %w", err)
	}
	return nil
}

// --- authorization codes ---

// CreateAuthCode implements storage.TokenStore.
func (s *Store) CreateAuthCode(ctx context.Context, t *storage.Token) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO auth_codes
		(signature, request_id, client_id, subject, created_at, expires_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.Signature, t.RequestID, t.ClientID, t.Subject, ts(t.CreatedAt), ts(t.ExpiresAt), t.Data)
	if err := conflict(err); err != nil {
		return fmt.Errorf("create authorization code: %w", err)
	}
	return nil
}

// GetAuthCode implements storage.TokenStore.
func (s *Store) GetAuthCode(ctx context.Context, sig string) (*storage.Token, error) {
	var (
		t                      storage.Token
		created, expires, used int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT signature, request_id, client_id, subject, created_at, expires_at, used, data
		FROM auth_codes WHERE signature = ? AND expires_at > ?`, sig, ts(time.Now())).
		Scan(&t.Signature, &t.RequestID, &t.ClientID, &t.Subject, &created, &expires, &used, &t.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get authorization code: %w", storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get authorization code: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromTS(created), fromTS(expires)
	if used != 0 {
		return &t, storage.ErrCodeUsed
	}
	return &t, nil
}

// UseAuthCode implements storage.TokenStore with one conditional update. An
// expired code is not found, like on read.
func (s *Store) UseAuthCode(ctx context.Context, sig string) error {
	now := ts(time.Now())
	res, err := s.w.ExecContext(ctx, `UPDATE auth_codes SET used = 1 WHERE signature = ? AND used = 0 AND expires_at > ?`, sig, now)
	if err != nil {
		return fmt.Errorf("use authorization code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var one int
	err = s.w.QueryRowContext(ctx, `SELECT 1 FROM auth_codes WHERE signature = ? AND expires_at > ?`, sig, now).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("use authorization code: %w", storage.ErrNotFound)
	case err != nil:
		return fmt.Errorf("use authorization code: %w", err)
	}
	return fmt.Errorf("use authorization code: %w", storage.ErrCodeUsed)
}

// DeleteExpired implements storage.TokenStore.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, table := range []string{"access_tokens", "refresh_tokens", "auth_codes", "login_attempts", "login_locks"} {
		res, err := s.w.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_at <= ?`, ts(now))
		if err != nil {
			return total, fmt.Errorf("delete expired %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// prepare prepares the statements of the refresh path.
func (s *Store) prepare(ctx context.Context) error {
	var err error
	prep := func(db *sql.DB, q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, q)
		return st
	}
	s.getRefresh = prep(s.r, `SELECT r.signature, r.request_id, r.client_id, r.subject,
			r.created_at, r.expires_at, r.chain_started_at, r.rotated_at, r.successor, r.revoked,
			r.user_agent, r.ip, r.data, n.rotated_at, n.revoked
		FROM refresh_tokens r LEFT JOIN refresh_tokens n ON n.signature = r.successor AND r.successor != ''
		WHERE r.signature = ? AND r.expires_at > ?`)
	s.lockRefresh = prep(s.w, `SELECT rotated_at, revoked, expires_at, successor FROM refresh_tokens WHERE signature = ?`)
	s.markRotated = prep(s.w, `UPDATE refresh_tokens SET rotated_at = ?, successor = ?
		WHERE signature = ? AND rotated_at = 0 AND revoked = 0 AND expires_at > ?`)
	s.insRefresh = prep(s.w, insertRefreshSQL)
	s.insAccess = prep(s.w, insertAccessSQL)
	if err != nil {
		return fmt.Errorf("prepare statements: %w", err)
	}
	return nil
}
