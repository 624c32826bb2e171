// Package storecount wraps a storage.Store and counts the calls that reach
// the backend: one call is one round trip to the database. Benchmarks use it
// to state store round trips per request.
package storecount

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/qaznat/qazauth/storage"
)

// Store counts every call to the wrapped store.
type Store struct {
	storage.Store
	n atomic.Int64
}

var _ storage.Store = (*Store)(nil)

// New wraps s.
func New(s storage.Store) *Store { return &Store{Store: s} }

// Calls returns the number of calls so far.
func (s *Store) Calls() int64 { return s.n.Load() }

func (s *Store) inc() { s.n.Add(1) }

func (s *Store) GetUser(ctx context.Context, id string) (*storage.User, error) {
	s.inc()
	return s.Store.GetUser(ctx, id)
}
func (s *Store) GetUserByUsername(ctx context.Context, u string) (*storage.User, error) {
	s.inc()
	return s.Store.GetUserByUsername(ctx, u)
}
func (s *Store) UpsertUser(ctx context.Context, u *storage.User) (*storage.User, error) {
	s.inc()
	return s.Store.UpsertUser(ctx, u)
}
func (s *Store) GetClient(ctx context.Context, id string) (*storage.Client, error) {
	s.inc()
	return s.Store.GetClient(ctx, id)
}
func (s *Store) UpsertClient(ctx context.Context, c *storage.Client) error {
	s.inc()
	return s.Store.UpsertClient(ctx, c)
}
func (s *Store) CreateAccessToken(ctx context.Context, t *storage.Token) error {
	s.inc()
	return s.Store.CreateAccessToken(ctx, t)
}
func (s *Store) GetAccessToken(ctx context.Context, sig string) (*storage.Token, error) {
	s.inc()
	return s.Store.GetAccessToken(ctx, sig)
}
func (s *Store) DeleteAccessToken(ctx context.Context, sig string) error {
	s.inc()
	return s.Store.DeleteAccessToken(ctx, sig)
}
func (s *Store) CreateRefreshToken(ctx context.Context, t *storage.Token) error {
	s.inc()
	return s.Store.CreateRefreshToken(ctx, t)
}
func (s *Store) GetRefreshToken(ctx context.Context, sig string) (*storage.Token, error) {
	s.inc()
	return s.Store.GetRefreshToken(ctx, sig)
}
func (s *Store) DeleteRefreshToken(ctx context.Context, sig string) error {
	s.inc()
	return s.Store.DeleteRefreshToken(ctx, sig)
}
func (s *Store) RotateRefreshToken(ctx context.Context, r storage.Rotation) error {
	s.inc()
	return s.Store.RotateRefreshToken(ctx, r)
}
func (s *Store) RevokeChain(ctx context.Context, id string) error {
	s.inc()
	return s.Store.RevokeChain(ctx, id)
}
func (s *Store) CreateAuthCode(ctx context.Context, t *storage.Token) error {
	s.inc()
	return s.Store.CreateAuthCode(ctx, t)
}
func (s *Store) GetAuthCode(ctx context.Context, sig string) (*storage.Token, error) {
	s.inc()
	return s.Store.GetAuthCode(ctx, sig)
}
func (s *Store) UseAuthCode(ctx context.Context, sig string) error {
	s.inc()
	return s.Store.UseAuthCode(ctx, sig)
}
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	s.inc()
	return s.Store.DeleteExpired(ctx, now)
}
func (s *Store) ListKeys(ctx context.Context) ([]storage.Key, error) {
	s.inc()
	return s.Store.ListKeys(ctx)
}
func (s *Store) CreateKey(ctx context.Context, k *storage.Key) error {
	s.inc()
	return s.Store.CreateKey(ctx, k)
}
func (s *Store) UpdateKey(ctx context.Context, k *storage.Key) error {
	s.inc()
	return s.Store.UpdateKey(ctx, k)
}
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	s.inc()
	return s.Store.DeleteKey(ctx, id)
}
func (s *Store) Ping(ctx context.Context) error {
	s.inc()
	return s.Store.Ping(ctx)
}
func (s *Store) ListSessions(ctx context.Context, subject string) ([]storage.Token, error) {
	s.inc()
	return s.Store.ListSessions(ctx, subject)
}
func (s *Store) TakeAttempt(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, error) {
	s.inc()
	return s.Store.TakeAttempt(ctx, key, limit, window, now)
}
func (s *Store) ResetAttempts(ctx context.Context, key string) error {
	s.inc()
	return s.Store.ResetAttempts(ctx, key)
}
func (s *Store) Lock(ctx context.Context, key string, until time.Time, count int, forget time.Time) error {
	s.inc()
	return s.Store.Lock(ctx, key, until, count, forget)
}
func (s *Store) LockedUntil(ctx context.Context, key string, now time.Time) (time.Time, int, error) {
	s.inc()
	return s.Store.LockedUntil(ctx, key, now)
}
