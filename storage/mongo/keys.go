package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// numberLegacyKeys gives keys stored before key rotation (no generation
// field) generations after the highest existing one, in creation order, so
// that the unique index on generation can be built. Concurrent starts
// compute the same numbers; it is a no-op once every key has one.
func (s *Store) numberLegacyKeys(ctx context.Context) error {
	filter := bson.D{{Key: "generation", Value: bson.D{{Key: "$exists", Value: false}}}}
	cur, err := s.keys.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return fmt.Errorf("mongo: number legacy keys: %w", mapErr(err))
	}
	var legacy []keyDoc
	if err := cur.All(ctx, &legacy); err != nil {
		return fmt.Errorf("mongo: number legacy keys: %w", mapErr(err))
	}
	if len(legacy) == 0 {
		return nil
	}
	var top keyDoc
	err = s.keys.FindOne(ctx, bson.D{{Key: "generation", Value: bson.D{{Key: "$exists", Value: true}}}},
		options.FindOne().SetSort(bson.D{{Key: "generation", Value: -1}})).Decode(&top)
	if err != nil && !errors.Is(err, mongodrv.ErrNoDocuments) {
		return fmt.Errorf("mongo: number legacy keys: %w", mapErr(err))
	}
	for i, d := range legacy {
		set := bson.D{{Key: "$set", Value: bson.D{{Key: "generation", Value: top.Generation + int64(i) + 1}}}}
		if _, err := s.keys.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, set); err != nil {
			return fmt.Errorf("mongo: number legacy key %s: %w", d.ID, mapErr(err))
		}
	}
	return nil
}
