package mongo

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestLegacyKeysGetGenerations: signing keys stored before key rotation
// have no generation; opening the database numbers them in creation order
// (after any numbered key) so that the unique index can be built.
func TestLegacyKeysGetGenerations(t *testing.T) {
	s := openTestStore(t, ferretURI)
	ctx := t.Context()
	if err := s.keys.Indexes().DropOne(ctx, "generation_unique"); err != nil {
		t.Fatal(err)
	}
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	for _, d := range []bson.D{
		{{Key: "_id", Value: "newer"}, {Key: "algorithm", Value: "RS256"}, {Key: "state", Value: "current"}, {Key: "created_at", Value: base.Add(2 * time.Second)}},
		{{Key: "_id", Value: "older"}, {Key: "algorithm", Value: "RS256"}, {Key: "state", Value: "current"}, {Key: "created_at", Value: base.Add(time.Second)}},
		{{Key: "_id", Value: "numbered"}, {Key: "algorithm", Value: "RS256"}, {Key: "generation", Value: int64(4)}, {Key: "created_at", Value: base}},
	} {
		if _, err := s.keys.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // idempotent
		if err := s.ensureIndexes(ctx); err != nil {
			t.Fatalf("ensureIndexes: %v", err)
		}
	}
	keys, err := s.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, k := range keys {
		got[k.ID] = k.Generation
	}
	if got["numbered"] != 4 || got["older"] != 5 || got["newer"] != 6 {
		t.Fatalf("generations = %v, want numbered 4, older 5, newer 6", got)
	}
}
