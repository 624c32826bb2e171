package mongo

// Tokens and their markers live in one collection, "tokens", keyed by kind
// prefix + signature, so that one {_id: {$in: [...]}} query reads a token
// together with its markers.
//
// # Refresh rotation
//
// Rotating old token O to successor N (N's signature is derived from O, so
// every caller rotating O within the grace window presents the same N):
//
//  1. insertMany, ordered: [rr:O {successor: N, at}, rt:N, at:A]. The
//     insert of the marker rr:O is THE decision: exactly one caller
//     inserts it; the ordered insert stops at the loser's duplicate key,
//     so a loser never stores its successor or access token. (On FerretDB
//     the three inserts land in one SQLite transaction; on MongoDB they are
//     applied in order.)
//  2. find {_id: {$in: [rt:O, rc:R]}}: O must exist, be unexpired and not
//     revoked, and its chain R must not carry the revocation marker. If
//     not, the winner deletes what it inserted and reports ErrNotFound or
//     ErrTokenRevoked.
//
// A loser (duplicate rr:O) reads rt:O, rr:O, rc:R, rt:N and rr:N in one
// query and succeeds only if rr:O names the same successor N, was inserted
// within the grace window, and N is neither rotated nor revoked; it then
// inserts its access token (and N, should the winner's insert of N not be
// visible yet: N's _id is its signature, so N is stored once whoever
// inserts it), and checks rc:R again.
//
// No crash between the steps can yield two live successors: the only
// successor O can ever have is the one named by rr:O, and rr:O is never
// removed while O lives (only the winner itself removes it, and only when O
// turned out not to exist). A crash after step 1 leaves at worst a
// successor nobody was handed.
//
// # Round trips per refresh (fosite: GetRefreshTokenSession, then Commit)
//
//   - GetRefreshToken of a never-rotated token: 1 (find rt:S + rr:S).
//   - RotateRefreshToken by the winner: 2 (insertMany, find).
//
// So a normal refresh costs 3 round trips. A rotated token costs Get one
// more (to tell whether its successor was rotated or revoked); a grace
// retry costs Rotate 4 (insertMany, find, insertMany, find).
//
// # Chain revocation without transactions
//
// RevokeChain(R) inserts the marker rc:R FIRST, then flags every refresh
// token of R revoked (updateMany) and deletes its access tokens
// (deleteMany). A rotation inserts its successor and access token BEFORE it
// reads rc:R (step 2). Hence for any rotation racing a revocation, either
// its read saw rc:R (it deletes what it inserted and fails with
// ErrTokenRevoked), or its read preceded the insert of rc:R, so its inserts
// preceded the updateMany and deleteMany, which then revoke and delete them.
// Either way no live token of R survives both operations: the rotation is
// linearized before the revocation when its read missed the marker, and
// after it otherwise.
//
// GetRefreshToken reports the flag on the refresh document, and for a
// rotated token (already two round trips) also the chain marker. A
// never-rotated token whose chain carries the marker but not yet the flag
// exists only while a RevokeChain is in progress (Get is then linearized
// before it), as a successor a rotation is about to delete again, or as a
// token created with the request id after the revocation: reporting it
// would cost every refresh a round trip, and RotateRefreshToken refuses all
// of these anyway, since it always checks the marker.
//
// The only update of a refresh document is this idempotent flag (and of a
// rotation marker, its expiry, by the rotation that inserted it), so
// FerretDB's non-atomic read-modify-write updates cannot lose anything.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/qaznat/qazauth/storage"
)

// Kinds of documents in the tokens collection (also the _id prefixes).
const (
	kindRefresh  = "rt" // refresh token, _id rt:<signature>
	kindAccess   = "at" // access token, _id at:<signature>
	kindCode     = "ac" // authorization code (and PKCE / OIDC data), _id ac:<signature>
	kindRotated  = "rr" // rotation marker of a refresh token, _id rr:<signature>
	kindRevoked  = "rc" // revoked chain marker, _id rc:<request id>
	kindCodeUsed = "cu" // used code marker, _id cu:<signature>
)

func key(kind, s string) string { return kind + ":" + s }

// pendingWindow is how long after a rotation a successor that is not (yet)
// visible counts as being written rather than gone: on MongoDB the ordered
// insert of marker and successor is not one atomic write.
const pendingWindow = 2 * time.Second

// tokenDoc is every document of the tokens collection; unused fields are
// omitted.
type tokenDoc struct {
	ID             string    `bson:"_id"`
	Kind           string    `bson:"k"`
	RequestID      string    `bson:"request_id,omitempty"`
	ClientID       string    `bson:"client_id,omitempty"`
	Subject        string    `bson:"subject,omitempty"`
	CreatedAt      time.Time `bson:"created_at,omitempty"`
	ExpiresAt      time.Time `bson:"expires_at"`
	ChainStartedAt time.Time `bson:"chain_started_at,omitempty"`
	UserAgent      string    `bson:"user_agent,omitempty"`
	IP             string    `bson:"ip,omitempty"`
	Revoked        bool      `bson:"revoked,omitempty"`
	Data           []byte    `bson:"data,omitempty"`
	// Markers.
	Successor string    `bson:"successor,omitempty"`
	At        time.Time `bson:"at,omitempty"`
	// Login locks: lockouts in a row.
	Count int `bson:"n,omitempty"`
}

func newTokenDoc(kind string, t *storage.Token) *tokenDoc {
	d := &tokenDoc{
		ID:        key(kind, t.Signature),
		Kind:      kind,
		RequestID: t.RequestID,
		ClientID:  t.ClientID,
		Subject:   t.Subject,
		CreatedAt: utc(t.CreatedAt),
		ExpiresAt: t.ExpiresAt.UTC(),
		Data:      t.Data,
	}
	if kind == kindRefresh {
		d.ChainStartedAt = utc(t.ChainStartedAt)
		d.UserAgent, d.IP = t.UserAgent, t.IP
	}
	return d
}

func (d *tokenDoc) token(sig string) *storage.Token {
	return &storage.Token{
		Signature:      sig,
		RequestID:      d.RequestID,
		ClientID:       d.ClientID,
		Subject:        d.Subject,
		CreatedAt:      utc(d.CreatedAt),
		ExpiresAt:      utc(d.ExpiresAt),
		Data:           d.Data,
		ChainStartedAt: utc(d.ChainStartedAt),
		Revoked:        d.Revoked,
		UserAgent:      d.UserAgent,
		IP:             d.IP,
	}
}

// live returns d if it exists and has not expired at now.
func live(d *tokenDoc, now time.Time) *tokenDoc {
	if d == nil || expired(d.ExpiresAt, now) {
		return nil
	}
	return d
}

// fetch reads the documents with the given _ids in one round trip.
func (s *Store) fetch(ctx context.Context, ids ...string) (map[string]*tokenDoc, error) {
	var filter bson.D
	if len(ids) == 1 {
		filter = bson.D{{Key: "_id", Value: ids[0]}}
	} else {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
	}
	cur, err := s.tokens.Find(ctx, filter)
	if err != nil {
		return nil, mapErr(err)
	}
	var docs []*tokenDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr(err)
	}
	m := make(map[string]*tokenDoc, len(docs))
	for _, d := range docs {
		m[d.ID] = d
	}
	return m, nil
}

func (s *Store) insert(ctx context.Context, d *tokenDoc) error {
	_, err := s.tokens.InsertOne(ctx, d)
	return mapErr(err)
}

// deleteIDs deletes the documents with the given _ids.
func (s *Store) deleteIDs(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.tokens.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	return mapErr(err)
}

// --- access tokens ---

// CreateAccessToken implements storage.TokenStore.
func (s *Store) CreateAccessToken(ctx context.Context, t *storage.Token) error {
	if err := s.insert(ctx, newTokenDoc(kindAccess, t)); err != nil {
		return fmt.Errorf("create access token: %w", err)
	}
	return nil
}

// GetAccessToken implements storage.TokenStore.
func (s *Store) GetAccessToken(ctx context.Context, sig string) (*storage.Token, error) {
	docs, err := s.fetch(ctx, key(kindAccess, sig))
	if err != nil {
		return nil, fmt.Errorf("get access token: %w", err)
	}
	d := live(docs[key(kindAccess, sig)], time.Now())
	if d == nil {
		return nil, fmt.Errorf("get access token: %w", storage.ErrNotFound)
	}
	return d.token(sig), nil
}

// DeleteAccessToken implements storage.TokenStore.
func (s *Store) DeleteAccessToken(ctx context.Context, sig string) error {
	if err := s.deleteIDs(ctx, key(kindAccess, sig)); err != nil {
		return fmt.Errorf("delete access token: %w", err)
	}
	return nil
}

// --- refresh tokens ---

// CreateRefreshToken implements storage.TokenStore.
func (s *Store) CreateRefreshToken(ctx context.Context, t *storage.Token) error {
	if err := s.insert(ctx, newTokenDoc(kindRefresh, t)); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

// GetRefreshToken implements storage.TokenStore: one round trip for a token
// never rotated, two for a rotated one.
func (s *Store) GetRefreshToken(ctx context.Context, sig string) (*storage.Token, error) {
	now := time.Now()
	docs, err := s.fetch(ctx, key(kindRefresh, sig), key(kindRotated, sig))
	if err != nil {
		return nil, fmt.Errorf("get refresh token: %w", err)
	}
	d := live(docs[key(kindRefresh, sig)], now)
	if d == nil {
		return nil, fmt.Errorf("get refresh token: %w", storage.ErrNotFound)
	}
	t := d.token(sig)
	mk := docs[key(kindRotated, sig)]
	if mk == nil {
		return t, nil
	}
	t.RotatedAt, t.Successor = utc(mk.At), mk.Successor
	more, err := s.fetch(ctx, key(kindRefresh, mk.Successor), key(kindRotated, mk.Successor), key(kindRevoked, t.RequestID))
	if err != nil {
		return nil, fmt.Errorf("get refresh token: %w", err)
	}
	if more[key(kindRevoked, t.RequestID)] != nil {
		t.Revoked = true
	}
	succ := live(more[key(kindRefresh, mk.Successor)], now)
	switch {
	case t.Revoked, more[key(kindRotated, mk.Successor)] != nil:
		t.SuccessorRotated = true
	case succ == nil:
		// Gone (deleted, expired) counts as used up, unless the rotation
		// is still being written.
		t.SuccessorRotated = more[key(kindRefresh, mk.Successor)] != nil || !now.Before(mk.At.Add(pendingWindow))
	case succ.Revoked:
		t.SuccessorRotated = true
	}
	return t, nil
}

// DeleteRefreshToken implements storage.TokenStore (with its rotation
// marker).
func (s *Store) DeleteRefreshToken(ctx context.Context, sig string) error {
	if err := s.deleteIDs(ctx, key(kindRefresh, sig), key(kindRotated, sig)); err != nil {
		return fmt.Errorf("delete refresh token: %w", err)
	}
	return nil
}

// RotateRefreshToken implements storage.TokenStore; see the top of this
// file.
func (s *Store) RotateRefreshToken(ctx context.Context, r storage.Rotation) error {
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	r.Now = r.Now.UTC()
	var err error
	// The loop only repeats when a marker that beat ours vanished (its
	// writer found the token missing): then the decision is open again.
	for range 3 {
		var retry bool
		retry, err = s.rotate(ctx, r)
		if !retry {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("rotate refresh token: %w", err)
	}
	return nil
}

// inserted records what one rotation call wrote, so that it can undo
// exactly that.
type inserted []string

func (s *Store) rotate(ctx context.Context, r storage.Rotation) (retry bool, err error) {
	marker := &tokenDoc{
		ID:        key(kindRotated, r.Old),
		Kind:      kindRotated,
		Successor: r.New.Signature,
		At:        r.Now,
		// It must outlive the old token; settle extends it if the old
		// token expires after the successor.
		ExpiresAt: r.New.ExpiresAt.UTC(),
	}
	docs := []any{marker, newTokenDoc(kindRefresh, &r.New)}
	if r.Access != nil {
		docs = append(docs, newTokenDoc(kindAccess, r.Access))
	}
	_, err = s.tokens.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	ins := inserted{marker.ID, key(kindRefresh, r.New.Signature)}
	if r.Access != nil {
		ins = append(ins, key(kindAccess, r.Access.Signature))
	}
	if err != nil {
		at, dup := firstWriteError(err)
		switch {
		case !dup:
			// The outcome is unknown (e.g. the connection broke): a retry
			// of the client within the grace window converges on the same
			// successor.
			return false, mapErr(err)
		case at == 0:
			return s.rotateAgain(ctx, r)
		case at == 1:
			// N exists: a grace caller saw our marker before our N and
			// wrote N itself. Store our access token on its own.
			ins = inserted{marker.ID}
			if r.Access != nil {
				if err := s.insert(ctx, newTokenDoc(kindAccess, r.Access)); err != nil {
					return false, s.settleFailed(ctx, r, marker, ins, err)
				}
				ins = append(ins, key(kindAccess, r.Access.Signature))
			}
		default:
			// The access token's signature exists: the rotation stands
			// (a retry within grace gets the successor), this call fails.
			return false, s.settleFailed(ctx, r, marker, ins[:2], mapErr(err))
		}
	}
	return false, s.settle(ctx, r, marker, ins)
}

// settleFailed runs settle for a rotation whose access token could not be
// stored, and returns err unless the rotation itself is void.
func (s *Store) settleFailed(ctx context.Context, r storage.Rotation, marker *tokenDoc, ins inserted, err error) error {
	if serr := s.settle(ctx, r, marker, ins); serr != nil {
		return serr
	}
	return err
}

// settle is step 2 of a winning rotation: the old token must exist, be
// unexpired and not revoked, read AFTER the successor was inserted.
func (s *Store) settle(ctx context.Context, r storage.Rotation, marker *tokenDoc, ins inserted) error {
	rid := r.New.RequestID
	docs, err := s.fetch(ctx, key(kindRefresh, r.Old), key(kindRevoked, rid))
	if err != nil {
		// Unknown: keep the rotation (the token may well be valid).
		return err
	}
	old := live(docs[key(kindRefresh, r.Old)], r.Now)
	var fail error
	switch {
	case old == nil:
		fail = storage.ErrNotFound
	case old.Revoked || docs[key(kindRevoked, rid)] != nil:
		fail = storage.ErrTokenRevoked
	case old.RequestID != rid:
		revoked, err := s.chainRevoked(ctx, old.RequestID)
		if err != nil {
			return err
		}
		if revoked {
			fail = storage.ErrTokenRevoked
		}
	}
	if fail != nil {
		if err := s.deleteIDs(ctx, ins...); err != nil {
			return fmt.Errorf("%w (undo: %w)", fail, err)
		}
		return fail
	}
	if marker != nil && old.ExpiresAt.After(marker.ExpiresAt) {
		// The marker must live as long as the old token.
		_, err := s.tokens.UpdateOne(ctx, bson.D{{Key: "_id", Value: marker.ID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "expires_at", Value: old.ExpiresAt}}}})
		if err != nil {
			return mapErr(err)
		}
	}
	return nil
}

func (s *Store) chainRevoked(ctx context.Context, rid string) (bool, error) {
	docs, err := s.fetch(ctx, key(kindRevoked, rid))
	if err != nil {
		return false, err
	}
	return docs[key(kindRevoked, rid)] != nil, nil
}

// rotateAgain handles a caller whose marker insert lost: the grace path.
func (s *Store) rotateAgain(ctx context.Context, r storage.Rotation) (retry bool, err error) {
	rid, n := r.New.RequestID, r.New.Signature
	docs, err := s.fetch(ctx, key(kindRefresh, r.Old), key(kindRotated, r.Old), key(kindRevoked, rid),
		key(kindRefresh, n), key(kindRotated, n))
	if err != nil {
		return false, err
	}
	old := live(docs[key(kindRefresh, r.Old)], r.Now)
	mk := docs[key(kindRotated, r.Old)]
	switch {
	case old == nil:
		return false, storage.ErrNotFound
	case old.Revoked || docs[key(kindRevoked, rid)] != nil:
		return false, storage.ErrTokenRevoked
	case old.RequestID != rid:
		revoked, err := s.chainRevoked(ctx, old.RequestID)
		if err != nil {
			return false, err
		}
		if revoked {
			return false, storage.ErrTokenRevoked
		}
	}
	switch {
	case mk == nil:
		// The marker that beat ours is gone again: decide anew.
		return true, storage.ErrTokenRotated
	case mk.Successor != n, r.Grace <= 0, !r.Now.Before(mk.At.Add(r.Grace)):
		return false, storage.ErrTokenRotated
	case docs[key(kindRotated, n)] != nil:
		// Only the immediate predecessor of the newest token gets grace.
		return false, storage.ErrTokenRotated
	}
	succ := docs[key(kindRefresh, n)]
	switch {
	case succ != nil && (succ.Revoked || expired(succ.ExpiresAt, r.Now)):
		return false, storage.ErrTokenRotated
	case succ == nil && !r.Now.Before(mk.At.Add(pendingWindow)):
		// Gone (deleted) rather than still being written: used up, as
		// GetRefreshToken reports it.
		return false, storage.ErrTokenRotated
	}

	// Within grace: store this call's access token, and the successor if
	// the winner's insert of it is not visible yet.
	var toInsert []any
	var ids inserted
	if succ == nil {
		toInsert = append(toInsert, newTokenDoc(kindRefresh, &r.New))
		ids = append(ids, key(kindRefresh, n))
	}
	if r.Access != nil {
		toInsert = append(toInsert, newTokenDoc(kindAccess, r.Access))
		ids = append(ids, key(kindAccess, r.Access.Signature))
	}
	if len(toInsert) == 0 {
		return false, nil
	}
	var conflict error
	if _, err := s.tokens.InsertMany(ctx, toInsert, options.InsertMany().SetOrdered(false)); err != nil {
		var bwe mongodrv.BulkWriteException
		if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
			return false, mapErr(err)
		}
		failed := map[int]bool{}
		for _, we := range bwe.WriteErrors {
			if !writeErrDup(we.WriteError) {
				return false, mapErr(err)
			}
			failed[we.Index] = true
			if ids[we.Index] != key(kindRefresh, n) {
				conflict = mapErr(err) // duplicate access token signature
			}
		}
		var kept inserted
		for i, id := range ids {
			if !failed[i] {
				kept = append(kept, id)
			}
		}
		ids = kept
	}
	// Check the chain marker after the inserts (see the top): a
	// revocation whose updateMany and deleteMany may have missed what we
	// just inserted had inserted its marker before them.
	revoked, err := s.chainRevoked(ctx, rid)
	if err != nil {
		return false, err
	}
	if revoked {
		if err := s.deleteIDs(ctx, ids...); err != nil {
			return false, fmt.Errorf("%w (undo: %w)", storage.ErrTokenRevoked, err)
		}
		return false, storage.ErrTokenRevoked
	}
	return false, conflict
}

// firstWriteError returns the index of the first failed write of an
// insertMany and whether it failed on a duplicate key.
func firstWriteError(err error) (int, bool) {
	var bwe mongodrv.BulkWriteException
	if !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 || bwe.WriteConcernError != nil {
		return -1, false
	}
	first := bwe.WriteErrors[0]
	for _, we := range bwe.WriteErrors[1:] {
		if we.Index < first.Index {
			first = we
		}
	}
	return first.Index, writeErrDup(first.WriteError)
}

// RevokeChain implements storage.TokenStore: marker first, then the flags
// and deletions (see the top of this file). It is idempotent.
func (s *Store) RevokeChain(ctx context.Context, requestID string) error {
	now := time.Now().UTC()
	err := s.insert(ctx, &tokenDoc{
		ID:        key(kindRevoked, requestID),
		Kind:      kindRevoked,
		At:        now,
		ExpiresAt: now.Add(s.revocationRetention),
	})
	if err != nil && !errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("revoke chain: %w", err)
	}
	_, err = s.tokens.UpdateMany(ctx,
		bson.D{{Key: "request_id", Value: requestID}, {Key: "k", Value: kindRefresh}, {Key: "revoked", Value: bson.D{{Key: "$ne", Value: true}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked", Value: true}}}})
	if err != nil {
		return fmt.Errorf("revoke chain: %w", mapErr(err))
	}
	_, err = s.tokens.DeleteMany(ctx, bson.D{{Key: "request_id", Value: requestID}, {Key: "k", Value: kindAccess}})
	if err != nil {
		return fmt.Errorf("revoke chain: %w", mapErr(err))
	}
	return nil
}

// --- authorization codes ---

// CreateAuthCode implements storage.TokenStore.
func (s *Store) CreateAuthCode(ctx context.Context, t *storage.Token) error {
	if err := s.insert(ctx, newTokenDoc(kindCode, t)); err != nil {
		return fmt.Errorf("create authorization code: %w", err)
	}
	return nil
}

// GetAuthCode implements storage.TokenStore (one round trip: the code and
// its used marker).
func (s *Store) GetAuthCode(ctx context.Context, sig string) (*storage.Token, error) {
	docs, err := s.fetch(ctx, key(kindCode, sig), key(kindCodeUsed, sig))
	if err != nil {
		return nil, fmt.Errorf("get authorization code: %w", err)
	}
	d := live(docs[key(kindCode, sig)], time.Now())
	if d == nil {
		return nil, fmt.Errorf("get authorization code: %w", storage.ErrNotFound)
	}
	if docs[key(kindCodeUsed, sig)] != nil {
		return d.token(sig), storage.ErrCodeUsed
	}
	return d.token(sig), nil
}

// UseAuthCode implements storage.TokenStore: the decision is the insert of
// the used marker cu:S (expiring with the code).
func (s *Store) UseAuthCode(ctx context.Context, sig string) error {
	now := time.Now()
	docs, err := s.fetch(ctx, key(kindCode, sig), key(kindCodeUsed, sig))
	if err != nil {
		return fmt.Errorf("use authorization code: %w", err)
	}
	d := live(docs[key(kindCode, sig)], now)
	switch {
	case d == nil:
		return fmt.Errorf("use authorization code: %w", storage.ErrNotFound)
	case docs[key(kindCodeUsed, sig)] != nil:
		return fmt.Errorf("use authorization code: %w", storage.ErrCodeUsed)
	}
	err = s.insert(ctx, &tokenDoc{ID: key(kindCodeUsed, sig), Kind: kindCodeUsed, At: now.UTC(), ExpiresAt: d.ExpiresAt})
	switch {
	case errors.Is(err, storage.ErrConflict):
		return fmt.Errorf("use authorization code: %w", storage.ErrCodeUsed)
	case err != nil:
		return fmt.Errorf("use authorization code: %w", err)
	}
	return nil
}

// DeleteExpired implements storage.TokenStore: every token, code and marker
// whose expires_at has passed. Markers expire no earlier than what they
// guard: a rotation marker with the old token, a used marker with its code,
// a revoked-chain marker after the revocation retention.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.tokens.DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now.UTC()}}}})
	if err != nil {
		return 0, fmt.Errorf("delete expired: %w", mapErr(err))
	}
	return res.DeletedCount, nil
}
