package mongotest_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/qaznat/qazauth/handlers"
	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
	"github.com/qaznat/qazauth/storage"
	"github.com/qaznat/qazauth/storage/storecount"
)

// inProcess builds a server on the MongoDB database at uri (a fresh
// database name) and returns its handler, so requests go through the full
// middleware stack without a network hop, and the store-call counter.
func inProcess(tb testing.TB, uri string) (http.Handler, *storecount.Store) {
	tb.Helper()
	dir := tb.TempDir()
	seed := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seed, []byte(servertest.Seed), 0o600); err != nil {
		tb.Fatal(err)
	}
	env := map[string]string{
		"QAZAUTH_DATA_DIR":  dir,
		"QAZAUTH_SEED_FILE": seed,
		"QAZAUTH_MONGO_URI": uri,
		"QAZAUTH_MONGO_DB":  newDBName("qazauth_bench"),
		"QAZAUTH_SECRET":    string(servertest.RandomSecret()),
	}
	cfg, err := server.LoadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		tb.Fatal(err)
	}
	cfg.RateLimit = 0 // one client address drives the whole load
	cfg.LoginMaxFailures = 1000
	var counter *storecount.Store
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler), server.Options{
		PasswordParams: &servertest.FastPasswords,
		WrapStore: func(s storage.Store) storage.Store {
			counter = storecount.New(s)
			return counter
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv.Handler(), counter
}

// tokenRequest posts form to the in-process token endpoint.
func tokenRequest(h http.Handler, form url.Values) (int, tokenResponse) {
	req := httptest.NewRequest(http.MethodPost, "http://localhost:8080"+handlers.PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var tr tokenResponse
	_ = json.Unmarshal(rec.Body.Bytes(), &tr)
	return rec.Code, tr
}

// inProcessLogin starts a chain with the translation app's scope, as
// server.BenchmarkRefreshGrant does (without openid: no ID token per
// refresh).
func inProcessLogin(tb testing.TB, h http.Handler) string {
	tb.Helper()
	form := url.Values{}
	for k, v := range passwordForm {
		form[k] = v
	}
	form.Set("scope", "offline_access translate")
	code, tr := tokenRequest(h, form)
	if code != 200 || tr.RefreshToken == "" {
		tb.Fatalf("password grant: %d %+v", code, tr)
	}
	return tr.RefreshToken
}

// TestRefreshRoundTrips counts, on the wire, the commands one refresh
// grant sends to the database end to end (HTTP request to response, client
// registration already cached): 3 — the read of the token with its rotation
// marker, the insert of marker, successor and access token, and the read of
// the token and its chain marker (storage/mongo/tokens.go).
func TestRefreshRoundTrips(t *testing.T) {
	wire := startCmdCounter(t, strings.TrimSuffix(strings.TrimPrefix(sharedURI, "mongodb://"), "/"))
	h, calls := inProcess(t, wire.uri())
	rt := inProcessLogin(t, h)
	for i := range 3 {
		before, beforeCalls, names := wire.count(), calls.Calls(), wire.byName()
		code, tr := tokenRequest(h, refreshForm(rt))
		if code != 200 {
			t.Fatalf("refresh: %d %+v", code, tr)
		}
		rt = tr.RefreshToken
		trips := wire.count() - before
		t.Logf("refresh %d: %d round trips %v, %d store calls", i, trips, wire.since(names), calls.Calls()-beforeCalls)
		if trips != 3 {
			t.Errorf("refresh %d: %d round trips to the database, want 3", i, trips)
		}
	}
	// For the record (not asserted): the other grants, client cached.
	for name, form := range map[string]url.Values{"password": passwordForm, "client_credentials": clientCredentialsForm} {
		for i := range 2 { // the second is reported: client and secret cached
			before, names := wire.count(), wire.byName()
			req := httptest.NewRequest(http.MethodPost, "http://localhost:8080"+handlers.PathToken, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if name == "client_credentials" {
				req.SetBasicAuth(servertest.WorkerClient, servertest.WorkerSecret)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				t.Fatalf("%s: %d %s", name, rec.Code, rec.Body)
			}
			if i == 1 {
				t.Logf("%s grant: %d round trips %v", name, wire.count()-before, wire.since(names))
			}
		}
	}
}

// BenchmarkRefreshGrantFerretDB measures the refresh grant end to end
// through the in-process HTTP handler on the MongoDB backend, with 16
// goroutines per CPU (c=32 on two cores), each keeping one chain and always
// presenting its newest token, scope offline_access translate (as
// server.BenchmarkRefreshGrant does on SQLite).
//
// FerretDB's figures are a compatibility check, not the production figure:
// FerretDB translates each command into SQLite statements in the same
// process and scans a collection for {_id: {$in: [...]}} (MongoDB uses the
// _id index), so ns/op grows with the tokens collection; use a fixed
// -benchtime (e.g. 500x) to compare runs. The production figure comes from
// BenchmarkRefreshGrantMongoDB against a real MongoDB replica set.
//
// Reported: roundtrips/op, the commands sent to the database per refresh,
// counted on the wire by a proxy in front of FerretDB (handshakes and
// heartbeats left out; the proxy adds one loopback hop per round trip);
// storecalls/op, the calls into storage.Store (storecount).
func BenchmarkRefreshGrantFerretDB(b *testing.B) {
	wire := startCmdCounter(b, strings.TrimSuffix(strings.TrimPrefix(sharedURI, "mongodb://"), "/"))
	benchRefresh(b, wire.uri(), wire)
}

// BenchmarkRefreshGrantMongoDB is BenchmarkRefreshGrantFerretDB against the
// MongoDB at QAZAUTH_TEST_MONGO_URI (a replica set: the production figure);
// it reports store calls only (see storage/mongo's TestRoundTripsPerRefresh
// for the round trips on that server).
func BenchmarkRefreshGrantMongoDB(b *testing.B) {
	uri := os.Getenv("QAZAUTH_TEST_MONGO_URI")
	if uri == "" {
		b.Skip("QAZAUTH_TEST_MONGO_URI not set")
	}
	benchRefresh(b, uri, nil)
}

func benchRefresh(b *testing.B, uri string, wire *cmdCounter) {
	h, calls := inProcess(b, uri)
	const parallelism = 16
	chains := make(chan string, parallelism*runtime.GOMAXPROCS(0))
	for range cap(chains) {
		chains <- inProcessLogin(b, h)
	}
	startCalls := calls.Calls()
	var startTrips int64
	if wire != nil {
		startTrips = wire.count()
	}
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rt := <-chains
		for pb.Next() {
			code, tr := tokenRequest(h, refreshForm(rt))
			if code != 200 {
				b.Errorf("refresh: %d %+v", code, tr)
				return
			}
			rt = tr.RefreshToken
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(calls.Calls()-startCalls)/float64(b.N), "storecalls/op")
	if wire != nil {
		b.ReportMetric(float64(wire.count()-startTrips)/float64(b.N), "roundtrips/op")
	}
}
