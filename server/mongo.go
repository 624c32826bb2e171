package server

import (
	"context"
	"errors"

	"github.com/qaznat/qazauth/storage"
)

// openMongo opens the MongoDB backend.
func openMongo(ctx context.Context, cfg *Config) (storage.Store, error) {
	return nil, errors.New("QAZAUTH_MONGO_URI: the MongoDB backend is not available in this build")
}
