package mongo

import (
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/qaznat/qazauth/storage"
)

// Intermediate states that the conformance suite cannot produce on FerretDB
// (whose ordered insertMany of marker, successor and access token lands in
// one SQLite transaction) but MongoDB can: a rotation marker whose
// successor is not visible yet, and a successor written before the marker.

func testToken(sig, rid string, now time.Time, ttl time.Duration) *storage.Token {
	return &storage.Token{Signature: sig, RequestID: rid, ClientID: "c", Subject: "s", CreatedAt: now, ExpiresAt: now.Add(ttl), Data: []byte("{}")}
}

func TestGraceWhileSuccessorPending(t *testing.T) {
	s := openTestStore(t, ferretURI)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	old := testToken("old", "req", now, time.Hour)
	if err := s.CreateRefreshToken(ctx, old); err != nil {
		t.Fatal(err)
	}
	// The winner's marker is in, its successor not yet.
	if err := s.insert(ctx, &tokenDoc{ID: key(kindRotated, "old"), Kind: kindRotated, Successor: "new", At: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRefreshToken(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if got.Successor != "new" || got.SuccessorRotated || got.RotatedAt.IsZero() {
		t.Fatalf("pending successor: %+v, want rotated to new with SuccessorRotated false", got)
	}
	r := storage.Rotation{Old: "old", New: *testToken("new", "req", now, time.Hour), Access: testToken("at2", "req", now, time.Minute), Now: now.Add(100 * time.Millisecond), Grace: 10 * time.Second}
	if err := s.RotateRefreshToken(ctx, r); err != nil {
		t.Fatalf("grace rotation while the successor is pending: %v", err)
	}
	if _, err := s.GetRefreshToken(ctx, "new"); err != nil {
		t.Fatalf("successor: %v", err)
	}
	if _, err := s.GetAccessToken(ctx, "at2"); err != nil {
		t.Fatalf("access token: %v", err)
	}

	// Past the pending window a missing successor is gone: used up.
	if err := s.CreateRefreshToken(ctx, testToken("old2", "req", now, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.insert(ctx, &tokenDoc{ID: key(kindRotated, "old2"), Kind: kindRotated, Successor: "new2", At: now.Add(-5 * time.Second), ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetRefreshToken(ctx, "old2"); err != nil || !got.SuccessorRotated {
		t.Fatalf("successor gone: %+v, %v; want SuccessorRotated", got, err)
	}
	r2 := storage.Rotation{Old: "old2", New: *testToken("new2", "req", now, time.Hour), Now: now, Grace: 10 * time.Second}
	if err := s.RotateRefreshToken(ctx, r2); !errors.Is(err, storage.ErrTokenRotated) {
		t.Fatalf("grace rotation to a deleted successor: %v, want ErrTokenRotated", err)
	}
}

func TestWinnerFindsSuccessorWritten(t *testing.T) {
	s := openTestStore(t, ferretURI)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.CreateRefreshToken(ctx, testToken("old", "req", now, time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A grace caller saw the winner's marker before its successor and wrote
	// the successor itself; the winner's ordered insert then stops there.
	if err := s.CreateRefreshToken(ctx, testToken("new", "req", now, time.Hour)); err != nil {
		t.Fatal(err)
	}
	r := storage.Rotation{Old: "old", New: *testToken("new", "req", now, time.Hour), Access: testToken("at1", "req", now, time.Minute), Now: now, Grace: 10 * time.Second}
	if err := s.RotateRefreshToken(ctx, r); err != nil {
		t.Fatalf("rotation: %v", err)
	}
	if _, err := s.GetAccessToken(ctx, "at1"); err != nil {
		t.Fatalf("the winner's access token was not stored: %v", err)
	}
	got, err := s.GetRefreshToken(ctx, "old")
	if err != nil || got.Successor != "new" {
		t.Fatalf("old: %+v, %v", got, err)
	}
}

func TestRotationMarkerOutlivesOldToken(t *testing.T) {
	s := openTestStore(t, ferretURI)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	// The old token lives longer than its successor (a shortened TTL).
	if err := s.CreateRefreshToken(ctx, testToken("old", "req", now, 3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r := storage.Rotation{Old: "old", New: *testToken("new", "req", now, time.Hour), Now: now}
	if err := s.RotateRefreshToken(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteExpired(ctx, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	docs, err := s.fetch(ctx, key(kindRefresh, "old"), key(kindRotated, "old"))
	if err != nil {
		t.Fatal(err)
	}
	if docs[key(kindRefresh, "old")] == nil || docs[key(kindRotated, "old")] == nil {
		t.Fatalf("after the successor expired: old token %v, its rotation marker %v; want both kept",
			docs[key(kindRefresh, "old")] != nil, docs[key(kindRotated, "old")] != nil)
	}
	// Rotating the old token again must still lose.
	again := storage.Rotation{Old: "old", New: *testToken("other", "req", now.Add(2*time.Hour), time.Hour), Now: now.Add(2 * time.Hour)}
	if err := s.RotateRefreshToken(ctx, again); !errors.Is(err, storage.ErrTokenRotated) {
		t.Fatalf("second rotation: %v, want ErrTokenRotated", err)
	}
}

func TestDuplicateKeyMapping(t *testing.T) {
	for _, msg := range []string{
		"E11000 duplicate key error collection: db.users",
		"constraint failed: UNIQUE constraint failed: users.username (2067)",
	} {
		if !dupMessage(msg) {
			t.Errorf("dupMessage(%q) = false", msg)
		}
	}
	if dupMessage("no such table") {
		t.Error("dupMessage(no such table) = true")
	}
	if got := redactURI("mongodb+srv://user:p%40ss@cluster0.example.net/qazauth?retryWrites=true"); got != "mongodb+srv://***@cluster0.example.net" {
		t.Errorf("redactURI = %q", got)
	}
}

// TestUpdateDuplicateIsConflict: a unique-index violation raised by an
// update (FerretDB: InternalError code 1, not 11000) maps to ErrConflict.
func TestUpdateDuplicateIsConflict(t *testing.T) {
	s := openTestStore(t, ferretURI)
	ctx := t.Context()
	for _, name := range []string{"a", "b"} {
		if _, err := s.UpsertUser(ctx, &storage.User{ID: name, Username: name}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: "b"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "username", Value: "a"}}}})
	if err == nil {
		t.Fatal("update to a taken username succeeded")
	}
	t.Logf("update error: %v (11000: %v)", err, mongodrv.IsDuplicateKeyError(err))
	if !isDup(err) || !errors.Is(mapErr(err), storage.ErrConflict) {
		t.Errorf("update to a taken username: %v; isDup=false", err)
	}
}
