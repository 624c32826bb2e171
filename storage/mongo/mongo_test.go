package mongo

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/storage/storagetest"
)

// ferretURI is the MongoDB URI of the FerretDB (SQLite handler) embedded in
// this test binary; one instance serves every test, each store gets its own
// database.
var ferretURI string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "qazauth-ferretdb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	ferretURI = f.MongoDBURI()
	code := m.Run()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		fmt.Fprintln(os.Stderr, "ferretdb did not stop within 10s")
	}
	return code
}

var dbSeq atomic.Int64

// openTestStore opens a store on a fresh database of uri, dropped at the end
// of the test.
func openTestStore(tb testing.TB, uri string, opts ...Option) *Store {
	tb.Helper()
	name := fmt.Sprintf("qazauth_test_%d_%d", time.Now().UnixNano()%1_000_000_000, dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, uri, name, opts...)
	if err != nil {
		tb.Fatalf("open %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Database().Drop(ctx); err != nil {
			tb.Errorf("drop %s: %v", name, err)
		}
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformanceFerretDB(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return openTestStore(t, ferretURI) })
}

// TestConformanceMongoDB runs the suite against a real MongoDB when
// QAZAUTH_TEST_MONGO_URI is set.
func TestConformanceMongoDB(t *testing.T) {
	uri := os.Getenv("QAZAUTH_TEST_MONGO_URI")
	if uri == "" {
		t.Skip("QAZAUTH_TEST_MONGO_URI not set")
	}
	storagetest.Run(t, func(t *testing.T) storage.Store { return openTestStore(t, uri) })
}

func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	// A port nothing listens on: the connect timeout bounds the wait.
	_, err := Open(t.Context(), "mongodb://user:secret@127.0.0.1:1/?connectTimeoutMS=200", "x", WithConnectTimeout(time.Second))
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if !errorsIs(err, storage.ErrUnavailable) {
		t.Errorf("Open: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open took %v, want about the 1s connect timeout", d)
	}
	if msg := err.Error(); contains(msg, "secret") {
		t.Errorf("error message reveals the password: %s", msg)
	}
}

func TestOpenIsIdempotent(t *testing.T) {
	s := openTestStore(t, ferretURI)
	again, err := Open(t.Context(), ferretURI, s.Database().Name())
	if err != nil {
		t.Fatalf("second Open of the same database: %v", err)
	}
	again.Close()
}

func TestPingAfterCloseIsUnavailable(t *testing.T) {
	s, err := Open(t.Context(), ferretURI, fmt.Sprintf("qazauth_closed_%d", dbSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Ping(t.Context()); !errorsIs(err, storage.ErrUnavailable) {
		t.Errorf("Ping after Close: %v, want ErrUnavailable", err)
	}
}

// countingMonitor counts the commands sent (one round trip each).
func countingMonitor(n *atomic.Int64) *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(context.Context, *event.CommandStartedEvent) { n.Add(1) }}
}

// refreshRoundTrips returns the round trips of one Get + Rotate of a fresh
// token, as fosite's refresh flow makes them.
func refreshRoundTrips(tb testing.TB, ctx context.Context, s *Store, n *atomic.Int64, i int) int64 {
	tb.Helper()
	now := time.Now().UTC()
	rid := fmt.Sprintf("req-%d-%d", i, now.UnixNano())
	old := sizedToken(fmt.Sprintf("old-%d-%d", i, now.UnixNano()), rid, now)
	if err := s.CreateRefreshToken(ctx, old); err != nil {
		tb.Fatal(err)
	}
	nt := sizedToken(fmt.Sprintf("new-%d-%d", i, now.UnixNano()), rid, now)
	at := sizedToken(fmt.Sprintf("at-%d-%d", i, now.UnixNano()), rid, now)
	before := n.Load()
	got, err := s.GetRefreshToken(ctx, old.Signature)
	if err != nil || !got.Active(now) {
		tb.Fatalf("GetRefreshToken: %v", err)
	}
	if err := s.RotateRefreshToken(ctx, storage.Rotation{Old: old.Signature, New: *nt, Access: at, Now: now, Grace: 10 * time.Second}); err != nil {
		tb.Fatal(err)
	}
	return n.Load() - before
}

func TestRoundTripsPerRefresh(t *testing.T) {
	var n atomic.Int64
	s := openTestStore(t, ferretURI, WithCommandMonitor(countingMonitor(&n)))
	if rt := refreshRoundTrips(t, t.Context(), s, &n, 0); rt > 3 {
		t.Errorf("Get + Rotate of a fresh token took %d round trips, want at most 3", rt)
	} else {
		t.Logf("Get + Rotate of a fresh token: %d round trips", rt)
	}
}

// BenchmarkRotate measures Get + Rotate of a fresh token, as one refresh
// makes them, and reports the round trips they cost. FerretDB serves
// {_id: {$in: [...]}} by scanning the collection (MongoDB uses the _id
// index), so the collection is emptied between iterations, outside the
// timer: the time is that of a small collection.
func BenchmarkRotate(b *testing.B) {
	var n atomic.Int64
	s := openTestStore(b, ferretURI, WithCommandMonitor(countingMonitor(&n)))
	ctx := context.Background()
	var trips int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := s.tokens.DeleteMany(ctx, bson.D{}); err != nil {
			b.Fatal(err)
		}
		now := time.Now().UTC()
		rid := fmt.Sprintf("req-%d-%d", i, now.UnixNano())
		old := sizedToken(fmt.Sprintf("old-%d-%d", i, now.UnixNano()), rid, now)
		if err := s.CreateRefreshToken(ctx, old); err != nil {
			b.Fatal(err)
		}
		nt := sizedToken(fmt.Sprintf("new-%d-%d", i, now.UnixNano()), rid, now)
		at := sizedToken(fmt.Sprintf("at-%d-%d", i, now.UnixNano()), rid, now)
		before := n.Load()
		b.StartTimer()
		if _, err := s.GetRefreshToken(ctx, old.Signature); err != nil {
			b.Fatal(err)
		}
		if err := s.RotateRefreshToken(ctx, storage.Rotation{Old: old.Signature, New: *nt, Access: at, Now: now, Grace: 10 * time.Second}); err != nil {
			b.Fatal(err)
		}
		trips += n.Load() - before
	}
	b.ReportMetric(float64(trips)/float64(b.N), "roundtrips/op")
}
