// Package mongo is the production storage backend: MongoDB (a replica set or
// Atlas) through go.mongodb.org/mongo-driver/v2. Any number of qazauth
// instances share state only through it.
//
// # Rules
//
// The backend uses no multi-document transactions (FerretDB, which the tests
// run against, has none, and they would require a replica set) and never
// decides anything once-only by a conditional update or findAndModify (not
// atomic in FerretDB). Every once-only decision is one insert on a unique
// _id, whose loser gets a duplicate-key error:
//
//   - rotating refresh token S inserts the rotation marker "rr:S";
//   - redeeming authorization code S inserts the used marker "cu:S";
//   - revoking the chain of request R inserts the chain marker "rc:R"
//     (not a race to win, but the fence that in-flight rotations check).
//
// Records are looked up by _id. Expired records are rejected on read; the
// janitor (DeleteExpired) deletes them, and on MongoDB a TTL index does too.
//
// # Collections
//
//   - users: _id = user id; unique index on username (lower case).
//   - clients: _id = client id.
//   - signing_keys: _id = kid; unique index on generation (creating the
//     next signing key is an insert of generation N+1); index on created_at.
//   - tokens: everything that expires, keyed by a kind prefix and the
//     signature (or request id): "rt:" refresh tokens, "at:" access tokens,
//     "ac:" authorization codes (and fosite's PKCE / OIDC data), and the
//     markers "rr:" (rotated), "rc:" (revoked chain), "cu:" (code used).
//     Indexes: request_id, subject, expires_at (TTL on MongoDB).
//
// Sharing one collection lets one query fetch a token together with its
// markers ({_id: {$in: [...]}}): see tokens.go for the round trips.
package mongo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/qaznat/qazauth/storage"
)

// Store is the MongoDB implementation of storage.Store.
type Store struct {
	client  *mongodrv.Client
	db      *mongodrv.Database
	users   *mongodrv.Collection
	clients *mongodrv.Collection
	keys    *mongodrv.Collection
	tokens  *mongodrv.Collection

	revocationRetention time.Duration
}

var _ storage.Store = (*Store)(nil)

// Option configures Open.
type Option func(*config)

type config struct {
	connectTimeout      time.Duration
	revocationRetention time.Duration
	monitor             *event.CommandMonitor
}

// WithConnectTimeout bounds how long Open (and every later operation) waits
// to find a usable server; default 10 s.
func WithConnectTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.connectTimeout = d
		}
	}
}

// WithRevocationRetention sets how long the marker of a revoked chain is
// kept (default 31 days, above the default session maximum age of 30
// days). Every refresh token of a revoked chain is also flagged revoked in
// its own document; the marker is what in-flight rotations check, and what
// makes a rotation of a token of that chain created later fail. Set it to at
// least QAZAUTH_SESSION_MAX_AGE.
func WithRevocationRetention(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.revocationRetention = d
		}
	}
}

// WithCommandMonitor installs a driver command monitor (metrics, tests).
func WithCommandMonitor(m *event.CommandMonitor) Option {
	return func(c *config) { c.monitor = m }
}

// DefaultRevocationRetention is the default of WithRevocationRetention.
const DefaultRevocationRetention = 31 * 24 * time.Hour

// Open connects to the MongoDB deployment at uri, waiting at most the
// connect timeout (10 s by default) for a reachable server, and creates the
// indexes of database dbName (idempotently).
func Open(ctx context.Context, uri, dbName string, opts ...Option) (*Store, error) {
	cfg := config{connectTimeout: 10 * time.Second, revocationRetention: DefaultRevocationRetention}
	for _, o := range opts {
		o(&cfg)
	}
	if dbName == "" {
		return nil, errors.New("mongo: empty database name")
	}
	co := options.Client().
		ApplyURI(uri).
		SetAppName("qazauth").
		SetServerSelectionTimeout(cfg.connectTimeout).
		SetConnectTimeout(cfg.connectTimeout)
	if co.WriteConcern == nil {
		// A marker acknowledged by one node only could be rolled back by a
		// failover, and with it the decision it recorded.
		co.SetWriteConcern(writeconcern.Majority())
	}
	if cfg.monitor != nil {
		co.SetMonitor(cfg.monitor)
	}
	client, err := mongodrv.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("mongo: connect to %s: %w", redactURI(uri), err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.connectTimeout)
	defer cancel()
	if err := client.Ping(pctx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("mongo: cannot reach %s within %s: %w: %w", redactURI(uri), cfg.connectTimeout, storage.ErrUnavailable, err)
	}
	db := client.Database(dbName)
	s := &Store{
		client:              client,
		db:                  db,
		users:               db.Collection("users"),
		clients:             db.Collection("clients"),
		keys:                db.Collection("signing_keys"),
		tokens:              db.Collection("tokens"),
		revocationRetention: cfg.revocationRetention,
	}
	if err := s.ensureIndexes(pctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

// Database returns the database handle (tests, administration).
func (s *Store) Database() *mongodrv.Database { return s.db }

// ensureIndexes creates the indexes; creating an existing index with the
// same options is a no-op.
func (s *Store) ensureIndexes(ctx context.Context) error {
	if err := s.numberLegacyKeys(ctx); err != nil {
		return err
	}
	for _, i := range []struct {
		coll   *mongodrv.Collection
		name   string
		field  string
		order  int
		unique bool
	}{
		{s.users, "username_unique", "username", 1, true},
		{s.keys, "created_at", "created_at", -1, false},
		{s.keys, "generation_unique", "generation", 1, true},
		{s.tokens, "request_id", "request_id", 1, false},
		{s.tokens, "subject", "subject", 1, false},
	} {
		o := options.Index().SetName(i.name)
		if i.unique {
			o.SetUnique(true)
		}
		m := mongodrv.IndexModel{Keys: bson.D{{Key: i.field, Value: i.order}}, Options: o}
		if _, err := i.coll.Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("mongo: create index %s.%s: %w", i.coll.Name(), i.name, mapErr(err))
		}
	}
	// A TTL index where the server has them (MongoDB), else a plain one
	// (FerretDB answers NotImplemented): reads reject expired records and
	// the janitor deletes them either way.
	ttl := mongodrv.IndexModel{Keys: bson.D{{Key: "expires_at", Value: 1}}, Options: options.Index().SetName("expires_at_ttl").SetExpireAfterSeconds(0)}
	if _, err := s.tokens.Indexes().CreateOne(ctx, ttl); err != nil {
		if isUnavailable(err) {
			return fmt.Errorf("mongo: create index tokens.expires_at_ttl: %w", mapErr(err))
		}
		plain := mongodrv.IndexModel{Keys: bson.D{{Key: "expires_at", Value: 1}}, Options: options.Index().SetName("expires_at")}
		if _, err2 := s.tokens.Indexes().CreateOne(ctx, plain); err2 != nil {
			return fmt.Errorf("mongo: create index tokens.expires_at: %w (TTL index: %v)", mapErr(err2), err)
		}
	}
	return nil
}

// Ping implements storage.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, nil); err != nil {
		return fmt.Errorf("ping mongo: %w", mapErr(err))
	}
	return nil
}

// Close implements storage.Store.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.client.Disconnect(ctx)
}

// --- errors ---

// mapErr maps driver errors to the storage sentinels: no document →
// ErrNotFound, duplicate key → ErrConflict, unreachable or timed out →
// ErrUnavailable (the server answers 503 temporarily_unavailable). The
// driver's error stays in the chain.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongodrv.ErrNoDocuments):
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	case isDup(err):
		return fmt.Errorf("%w: %w", storage.ErrConflict, err)
	case isUnavailable(err):
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	return err
}

// isDup reports a duplicate-key error: 11000 on MongoDB and on FerretDB's
// inserts; FerretDB reports a unique-index violation raised by an update as
// an InternalError (code 1) carrying SQLite's or Postgres's message.
func isDup(err error) bool {
	if mongodrv.IsDuplicateKeyError(err) {
		return true
	}
	var se mongodrv.ServerError
	if errors.As(err, &se) && se.HasErrorCode(1) {
		return dupMessage(err.Error())
	}
	return false
}

func dupMessage(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "duplicate key") || strings.Contains(msg, "unique constraint")
}

// writeErrDup reports whether one write error of a bulk write is a
// duplicate key.
func writeErrDup(we mongodrv.WriteError) bool {
	switch we.Code {
	case 11000, 11001, 12582:
		return true
	case 1:
		return dupMessage(we.Message)
	}
	return false
}

// Server error codes that mean "try again": the primary is stepping down,
// shutting down, or not reachable.
var retryableCodes = []int{6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436}

func isUnavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if mongodrv.IsTimeout(err) || mongodrv.IsNetworkError(err) || errors.Is(err, mongodrv.ErrClientDisconnected) {
		return true
	}
	if errors.As(err, new(topology.ServerSelectionError)) || errors.As(err, new(topology.ConnectionError)) {
		return true
	}
	var se mongodrv.ServerError
	if errors.As(err, &se) {
		if se.HasErrorLabel("RetryableWriteError") || se.HasErrorLabel("TransientTransactionError") {
			return true
		}
		for _, c := range retryableCodes {
			if se.HasErrorCode(c) {
				return true
			}
		}
	}
	return false
}

// redactURI drops the credentials from a connection string for messages.
func redactURI(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return "the MongoDB URI"
	}
	hosts, _, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(hosts, "@"); at >= 0 {
		hosts = "***@" + hosts[at+1:]
	}
	return scheme + "://" + hosts
}

// newID returns a random identifier (users without an explicit ID).
func newID() string { return rand.Text() }

// --- times ---

// BSON dates have millisecond precision; stored times are UTC.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func expired(exp, now time.Time) bool { return !now.Before(exp) }
