package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "qazauth.db"))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close sqlite: %v", err)
			}
		})
		return s
	})
}
