package server

import (
	"context"
	"fmt"
	"time"

	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/storage/mongo"
)

// openMongo opens the MongoDB backend; an unreachable server fails within
// the driver's bounded server-selection wait, with the URI's password
// redacted.
func openMongo(ctx context.Context, cfg *Config) (storage.Store, error) {
	// A revoked chain's marker must outlive every token of the chain.
	st, err := mongo.Open(ctx, cfg.MongoURI, cfg.MongoDB, mongo.WithRevocationRetention(max(cfg.SessionMaxAge, cfg.RefreshTokenTTL)+time.Hour))
	if err != nil {
		return nil, fmt.Errorf("QAZAUTH_MONGO_URI: %w", err)
	}
	return st, nil
}
