package mongo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/qaznat/qazauth/storage"
)

// --- users ---

type userDoc struct {
	ID            string    `bson:"_id"`
	Username      string    `bson:"username"`
	PasswordHash  string    `bson:"password_hash"`
	Email         string    `bson:"email,omitempty"`
	EmailVerified bool      `bson:"email_verified,omitempty"`
	Roles         []string  `bson:"roles"`
	Disabled      bool      `bson:"disabled,omitempty"`
	CreatedAt     time.Time `bson:"created_at"`
	UpdatedAt     time.Time `bson:"updated_at"`
}

func (d *userDoc) user() *storage.User {
	return &storage.User{
		ID:            d.ID,
		Username:      d.Username,
		PasswordHash:  d.PasswordHash,
		Email:         d.Email,
		EmailVerified: d.EmailVerified,
		Roles:         d.Roles,
		Disabled:      d.Disabled,
		CreatedAt:     utc(d.CreatedAt),
		UpdatedAt:     utc(d.UpdatedAt),
	}
}

// GetUser implements storage.UserStore.
func (s *Store) GetUser(ctx context.Context, id string) (*storage.User, error) {
	var d userDoc
	if err := s.users.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return nil, fmt.Errorf("get user: %w", mapErr(err))
	}
	return d.user(), nil
}

// GetUserByUsername implements storage.UserStore.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (*storage.User, error) {
	var d userDoc
	if err := s.users.FindOne(ctx, bson.D{{Key: "username", Value: strings.ToLower(username)}}).Decode(&d); err != nil {
		return nil, fmt.Errorf("get user by username: %w", mapErr(err))
	}
	return d.user(), nil
}

// UpsertUser implements storage.UserStore with one upserting
// findAndModify keyed by the (unique) username; the _id and created_at are
// set only on insert, so an existing user keeps them. Upserting a user is
// not a once-only decision: when two first upserts of one username race,
// the loser's insert hits the unique index and its retry updates.
func (s *Store) UpsertUser(ctx context.Context, u *storage.User) (*storage.User, error) {
	username := strings.ToLower(u.Username)
	id := u.ID
	if id == "" {
		id = newID()
	}
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	now := time.Now().UTC()
	filter := bson.D{{Key: "username", Value: username}}
	update := bson.D{
		{Key: "$set", Value: bson.D{
			{Key: "password_hash", Value: u.PasswordHash},
			{Key: "email", Value: u.Email},
			{Key: "email_verified", Value: u.EmailVerified},
			{Key: "roles", Value: roles},
			{Key: "disabled", Value: u.Disabled},
			{Key: "updated_at", Value: now},
		}},
		{Key: "$setOnInsert", Value: bson.D{
			{Key: "_id", Value: id},
			{Key: "created_at", Value: now},
		}},
	}
	opts := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)
	var err error
	for range 2 {
		var d userDoc
		err = s.users.FindOneAndUpdate(ctx, filter, update, opts).Decode(&d)
		if err == nil {
			return d.user(), nil
		}
		if !isDup(err) {
			break
		}
		// Either a concurrent first upsert of the same username won (the
		// retry updates it), or the ID belongs to another username (the
		// retry fails again: ErrConflict).
	}
	return nil, fmt.Errorf("upsert user: %w", mapErr(err))
}

// --- clients ---

type clientDoc struct {
	ID                     string    `bson:"_id"`
	SecretHash             string    `bson:"secret_hash,omitempty"`
	Public                 bool      `bson:"public,omitempty"`
	FirstParty             bool      `bson:"first_party,omitempty"`
	GrantTypes             []string  `bson:"grant_types,omitempty"`
	ResponseTypes          []string  `bson:"response_types,omitempty"`
	RedirectURIs           []string  `bson:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string  `bson:"post_logout_redirect_uris,omitempty"`
	Scopes                 []string  `bson:"scopes,omitempty"`
	Audience               []string  `bson:"audience,omitempty"`
	AccessTokenTTL         int64     `bson:"access_token_ttl_ns,omitempty"`
	RefreshTokenTTL        int64     `bson:"refresh_token_ttl_ns,omitempty"`
	SessionMaxAge          int64     `bson:"session_max_age_ns,omitempty"`
	CreatedAt              time.Time `bson:"created_at"`
	UpdatedAt              time.Time `bson:"updated_at"`
}

// GetClient implements storage.ClientStore.
func (s *Store) GetClient(ctx context.Context, id string) (*storage.Client, error) {
	var d clientDoc
	if err := s.clients.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return nil, fmt.Errorf("get client: %w", mapErr(err))
	}
	return &storage.Client{
		ID:                     d.ID,
		SecretHash:             d.SecretHash,
		Public:                 d.Public,
		FirstParty:             d.FirstParty,
		GrantTypes:             d.GrantTypes,
		ResponseTypes:          d.ResponseTypes,
		RedirectURIs:           d.RedirectURIs,
		PostLogoutRedirectURIs: d.PostLogoutRedirectURIs,
		Scopes:                 d.Scopes,
		Audience:               d.Audience,
		AccessTokenTTL:         time.Duration(d.AccessTokenTTL),
		RefreshTokenTTL:        time.Duration(d.RefreshTokenTTL),
		SessionMaxAge:          time.Duration(d.SessionMaxAge),
		CreatedAt:              utc(d.CreatedAt),
		UpdatedAt:              utc(d.UpdatedAt),
	}, nil
}

// UpsertClient implements storage.ClientStore (replace by _id, upsert).
func (s *Store) UpsertClient(ctx context.Context, c *storage.Client) error {
	now := time.Now().UTC()
	created := c.CreatedAt
	if created.IsZero() {
		created = now
	}
	d := clientDoc{
		ID:                     c.ID,
		SecretHash:             c.SecretHash,
		Public:                 c.Public,
		FirstParty:             c.FirstParty,
		GrantTypes:             c.GrantTypes,
		ResponseTypes:          c.ResponseTypes,
		RedirectURIs:           c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		Scopes:                 c.Scopes,
		Audience:               c.Audience,
		AccessTokenTTL:         int64(c.AccessTokenTTL),
		RefreshTokenTTL:        int64(c.RefreshTokenTTL),
		SessionMaxAge:          int64(c.SessionMaxAge),
		CreatedAt:              created.UTC(),
		UpdatedAt:              now,
	}
	_, err := s.clients.ReplaceOne(ctx, bson.D{{Key: "_id", Value: c.ID}}, d, options.Replace().SetUpsert(true))
	if err != nil && isDup(err) {
		// Two first upserts of one client raced; the retry replaces.
		_, err = s.clients.ReplaceOne(ctx, bson.D{{Key: "_id", Value: c.ID}}, d, options.Replace().SetUpsert(true))
	}
	if err != nil {
		return fmt.Errorf("upsert client: %w", mapErr(err))
	}
	return nil
}

// --- signing keys ---

type keyDoc struct {
	ID          string    `bson:"_id"`
	Algorithm   string    `bson:"algorithm"`
	Generation  int64     `bson:"generation"`
	State       string    `bson:"state"`
	PrivateKey  []byte    `bson:"private_key"`
	PublicJWK   []byte    `bson:"public_jwk"`
	CreatedAt   time.Time `bson:"created_at"`
	ActivatesAt time.Time `bson:"activates_at,omitempty"`
	RetiresAt   time.Time `bson:"retires_at,omitempty"`
	RemoveAt    time.Time `bson:"remove_at,omitempty"`
}

// ListKeys implements storage.KeyStore.
func (s *Store) ListKeys(ctx context.Context) ([]storage.Key, error) {
	cur, err := s.keys.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", mapErr(err))
	}
	var docs []keyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list keys: %w", mapErr(err))
	}
	keys := make([]storage.Key, 0, len(docs))
	for _, d := range docs {
		keys = append(keys, storage.Key{
			ID:          d.ID,
			Algorithm:   d.Algorithm,
			Generation:  d.Generation,
			State:       d.State,
			PrivateKey:  d.PrivateKey,
			PublicJWK:   d.PublicJWK,
			CreatedAt:   utc(d.CreatedAt),
			ActivatesAt: utc(d.ActivatesAt),
			RetiresAt:   utc(d.RetiresAt),
			RemoveAt:    utc(d.RemoveAt),
		})
	}
	return keys, nil
}

// CreateKey implements storage.KeyStore: one insert, decided by the unique
// _id (kid) and the unique index on generation.
func (s *Store) CreateKey(ctx context.Context, k *storage.Key) error {
	d := keyDoc{
		ID:          k.ID,
		Algorithm:   k.Algorithm,
		Generation:  k.Generation,
		State:       k.State,
		PrivateKey:  nonNilBytes(k.PrivateKey),
		PublicJWK:   nonNilBytes(k.PublicJWK),
		CreatedAt:   k.CreatedAt.UTC(),
		ActivatesAt: utc(k.ActivatesAt),
		RetiresAt:   utc(k.RetiresAt),
		RemoveAt:    utc(k.RemoveAt),
	}
	if _, err := s.keys.InsertOne(ctx, d); err != nil {
		return fmt.Errorf("create key: %w", mapErr(err))
	}
	return nil
}

// UpdateKey implements storage.KeyStore; the generation and creation time
// are kept.
func (s *Store) UpdateKey(ctx context.Context, k *storage.Key) error {
	set := bson.D{
		{Key: "algorithm", Value: k.Algorithm},
		{Key: "state", Value: k.State},
		{Key: "private_key", Value: nonNilBytes(k.PrivateKey)},
		{Key: "public_jwk", Value: nonNilBytes(k.PublicJWK)},
	}
	var unset bson.D
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"activates_at", k.ActivatesAt}, {"retires_at", k.RetiresAt}, {"remove_at", k.RemoveAt}} {
		if f.t.IsZero() {
			unset = append(unset, bson.E{Key: f.name, Value: ""})
		} else {
			set = append(set, bson.E{Key: f.name, Value: f.t.UTC()})
		}
	}
	update := bson.D{{Key: "$set", Value: set}}
	if len(unset) > 0 {
		update = append(update, bson.E{Key: "$unset", Value: unset})
	}
	res, err := s.keys.UpdateOne(ctx, bson.D{{Key: "_id", Value: k.ID}}, update)
	if err != nil {
		return fmt.Errorf("update key: %w", mapErr(err))
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("update key %q: %w", k.ID, storage.ErrNotFound)
	}
	return nil
}

// DeleteKey implements storage.KeyStore.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if _, err := s.keys.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return fmt.Errorf("delete key: %w", mapErr(err))
	}
	return nil
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
