// Package sqlite is the embedded, zero-configuration storage backend: one
// SQLite database file (pure Go, WAL mode) under the data directory.
//
// Writes go through a single connection, so they are serialized in the
// process instead of contending for SQLite's lock; every once-only decision
// runs inside one BEGIN IMMEDIATE transaction. Reads use a small pool of
// their own connections and never wait for writers (WAL).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/qaznat/qazauth/storage"
)

// Store is the SQLite implementation of storage.Store.
type Store struct {
	w    *sql.DB // one connection: all writes
	r    *sql.DB // reads
	path string

	// Hot-path statements, prepared once: parsing SQL costs more than
	// running these.
	getRefresh, lockRefresh, markRotated, insRefresh, insAccess *sql.Stmt

	stop chan struct{}
	done chan struct{}
}

var _ storage.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and migrates its
// schema.
func Open(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "wal_autocheckpoint(0)")
	q.Add("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()

	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)

	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	s := &Store{w: w, r: r, path: path, stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		close(s.done)
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		close(s.done)
		s.Close()
		return nil, err
	}
	go s.checkpoint(time.Second)
	if err := os.Chmod(path, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.Close()
		return nil, fmt.Errorf("restrict database file permissions: %w", err)
	}
	return s, nil
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Ping implements storage.Store.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close implements storage.Store.
func (s *Store) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	var errs []error
	for _, st := range []*sql.Stmt{s.getRefresh, s.lockRefresh, s.markRotated, s.insRefresh, s.insAccess} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(append(errs, s.r.Close(), s.w.Close())...)
}

// checkpoint copies the WAL into the database every interval, from a read
// connection. Automatic checkpoints are off: SQLite would run them inside
// the committing writer, stalling every queued refresh behind an fsync;
// a passive checkpoint here never blocks the writer.
func (s *Store) checkpoint(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_, _ = s.r.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

// inTx runs fn in one write transaction (BEGIN IMMEDIATE).
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
