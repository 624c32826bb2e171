package mongo

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/qaznat/qazauth/storage"
)

// kindAttempt is one taken login attempt: _id la:<key hash>|<window>|<slot>.
const kindAttempt = "la"

// ListSessions implements storage.SessionStore in two round trips: the
// subject's unexpired, unrevoked refresh tokens, then the rotation and
// chain markers that rule some of them out.
func (s *Store) ListSessions(ctx context.Context, subject string) ([]storage.Token, error) {
	now := time.Now()
	cur, err := s.tokens.Find(ctx, bson.D{
		{Key: "subject", Value: subject},
		{Key: "k", Value: kindRefresh},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now.UTC()}}},
	}, options.Find().SetLimit(1000))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", mapErr(err))
	}
	var docs []tokenDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list sessions: %w", mapErr(err))
	}
	if len(docs) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, 2*len(docs))
	for _, d := range docs {
		ids = append(ids, key(kindRotated, d.ID[len(kindRefresh)+1:]), key(kindRevoked, d.RequestID))
	}
	markers, err := s.fetch(ctx, ids...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	var out []storage.Token
	for _, d := range docs {
		sig := d.ID[len(kindRefresh)+1:]
		if d.Revoked || markers[key(kindRotated, sig)] != nil || markers[key(kindRevoked, d.RequestID)] != nil {
			continue
		}
		out = append(out, *d.token(sig))
	}
	slices.SortFunc(out, func(a, b storage.Token) int { return b.CreatedAt.Compare(a.CreatedAt) }) // newest first
	return out, nil
}

// attemptKey bounds the key's size and keeps usernames out of _ids.
func attemptKey(k string) string {
	sum := sha256.Sum256([]byte(k))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// TakeAttempt implements storage.AttemptStore. The window's slots have
// fixed _ids 0..limit-1; taking an attempt is inserting the next free one,
// and an insert on a unique _id is atomic even on FerretDB, so at most limit
// callers per window succeed however many race. The count read first only
// picks where to start looking.
func (s *Store) TakeAttempt(ctx context.Context, k string, limit int, window time.Duration, now time.Time) (bool, error) {
	hk := attemptKey(k)
	start := now.Truncate(window).UTC()
	prefix := kindAttempt + ":" + hk + "|" + strconv.FormatInt(start.Unix(), 10) + "|"
	n, err := s.tokens.CountDocuments(ctx, bson.D{{Key: "request_id", Value: hk}, {Key: "k", Value: kindAttempt}, {Key: "at", Value: start}})
	if err != nil {
		return false, fmt.Errorf("take login attempt: %w", mapErr(err))
	}
	for slot := int(n); slot < limit; slot++ {
		_, err := s.tokens.InsertOne(ctx, tokenDoc{
			ID: prefix + strconv.Itoa(slot), Kind: kindAttempt, RequestID: hk, At: start, ExpiresAt: start.Add(window),
		})
		if err == nil {
			return true, nil
		}
		if !errors.Is(mapErr(err), storage.ErrConflict) {
			return false, fmt.Errorf("take login attempt: %w", mapErr(err))
		}
	}
	return false, nil
}

// ResetAttempts implements storage.AttemptStore (the lock too).
func (s *Store) ResetAttempts(ctx context.Context, k string) error {
	hk := attemptKey(k)
	_, err := s.tokens.DeleteMany(ctx, bson.D{{Key: "request_id", Value: hk},
		{Key: "k", Value: bson.D{{Key: "$in", Value: bson.A{kindAttempt, kindLock}}}}})
	if err != nil {
		return fmt.Errorf("reset login attempts: %w", mapErr(err))
	}
	return nil
}

// kindLock is a login lock: _id ll:<key hash>. Locking is not a once-only
// decision (two instances locking one key at once write the same thing),
// so a plain upsert is fine even on FerretDB.
const kindLock = "ll"

// Lock implements storage.AttemptStore.
func (s *Store) Lock(ctx context.Context, k string, until time.Time, count int, forget time.Time) error {
	hk := attemptKey(k)
	doc := tokenDoc{ID: kindLock + ":" + hk, Kind: kindLock, RequestID: hk, At: until.UTC(), Count: count, ExpiresAt: forget.UTC()}
	_, err := s.tokens.ReplaceOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}, doc, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("lock login: %w", mapErr(err))
	}
	return nil
}

// LockedUntil implements storage.AttemptStore.
func (s *Store) LockedUntil(ctx context.Context, k string, now time.Time) (time.Time, int, error) {
	docs, err := s.fetch(ctx, kindLock+":"+attemptKey(k))
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("read login lock: %w", err)
	}
	for _, d := range docs {
		if expired(d.ExpiresAt, now) {
			break
		}
		return utc(d.At), d.Count, nil
	}
	return time.Time{}, 0, nil
}
