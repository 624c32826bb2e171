package mongotest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qaznat/qazauth/handlers"
	"github.com/qaznat/qazauth/server/servertest"
	"github.com/qaznat/qazauth/storage"
)

// Bounds of the outage test. The store gives up on an unreachable database
// after its server-selection timeout (10 s, mongo.WithConnectTimeout);
// /readyz after its own 2 s deadline.
const (
	outageAnswerBound = 25 * time.Second // a token request during the outage
	readyzBound       = 5 * time.Second  // /readyz during the outage
	recoveryBound     = 30 * time.Second // from FerretDB's restart to a working refresh
)

// TestOutageAndRecovery stops the database under a serving qazauth and
// starts it again on the same address and data, without restarting qazauth:
// while it is down the token endpoint (every grant), introspection and
// revocation answer 503 temporarily_unavailable (never 500, never a hang),
// /readyz 503, /healthz and the JWKS 200, and the background jobs get an
// error; once it is back, /readyz and the refresh grant recover by
// themselves, and nothing the failed requests touched has changed.
func TestOutageAndRecovery(t *testing.T) {
	dir := t.TempDir() // FerretDB's SQLite files, kept across its restart
	db, err := startFerret(dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var dbMu sync.Mutex
	t.Cleanup(func() {
		dbMu.Lock()
		defer dbMu.Unlock()
		if db != nil {
			if err := db.stop(15 * time.Second); err != nil {
				t.Error(err)
			}
		}
	})
	s := servertest.Start(t, onMongo(db.uri, newDBName("qazauth_outage"), servertest.RandomSecret()))

	// Serving normally.
	rt := mustRefresh(t, s, login(t, s).RefreshToken).RefreshToken
	other := login(t, s) // a device whose revocation fails during the outage
	if m := introspect(t, s, other.AccessToken); m["active"] != true {
		t.Fatalf("introspection before the outage: %v", m)
	}
	if r := post(t, s.URL, handlers.PathToken, clientCredentialsForm, servertest.WorkerClient, servertest.WorkerSecret); r.status != 200 {
		t.Fatalf("client_credentials: %d %s", r.status, r.body)
	}
	if r := get(t, s.URL+handlers.PathReady); r.status != 200 {
		t.Fatalf("/readyz before the outage: %d %s", r.status, r.body)
	}
	jwks := get(t, s.URL+handlers.PathJWKS)

	// The outage: FerretDB closes its listener and every connection.
	begin := time.Now()
	if err := db.stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("FerretDB on %s stopped in %v", db.addr, time.Since(begin))

	if r := get(t, s.URL+handlers.PathReady); r.status != http.StatusServiceUnavailable || r.took > readyzBound {
		t.Fatalf("/readyz during the outage: %d after %v %s; want 503 within %v", r.status, r.took, r.body, readyzBound)
	} else {
		t.Logf("/readyz during the outage: 503 in %v", r.took)
	}
	if r := get(t, s.URL+handlers.PathHealth); r.status != 200 {
		t.Fatalf("/healthz during the outage: %d; liveness must not depend on the database", r.status)
	}
	if r := get(t, s.URL+handlers.PathJWKS); r.status != 200 || string(r.body) != string(jwks.body) {
		t.Fatalf("JWKS during the outage: %d; resource servers must keep validating", r.status)
	}

	// Every grant of the token endpoint, introspection and revocation, in
	// parallel: 503 with an RFC 6749 error body (not 401 invalid_client,
	// which would tell a resource server its credentials are wrong, nor
	// "inactive", nor a 200 "revoked").
	requests := map[string]func() (reply, error){
		"introspect": func() (reply, error) {
			return tryPost(s.URL, handlers.PathIntrospect, url.Values{"token": {other.AccessToken}}, servertest.IntrospectClient, servertest.IntrospectSecret)
		},
		"revoke": func() (reply, error) {
			return tryPost(s.URL, handlers.PathRevoke, url.Values{"token": {other.RefreshToken}, "client_id": {servertest.MobileClient}})
		},
		"password": func() (reply, error) { return tryPost(s.URL, handlers.PathToken, passwordForm) },
		"refresh":  func() (reply, error) { return tryPost(s.URL, handlers.PathToken, refreshForm(rt)) },
		"client_credentials": func() (reply, error) {
			return tryPost(s.URL, handlers.PathToken, clientCredentialsForm, servertest.WorkerClient, servertest.WorkerSecret)
		},
		"client_credentials (secret in body)": func() (reply, error) {
			f := url.Values{"client_id": {servertest.WorkerClient}, "client_secret": {servertest.WorkerSecret}}
			for k, v := range clientCredentialsForm {
				f[k] = v
			}
			return tryPost(s.URL, handlers.PathToken, f)
		},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for name, send := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := send()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("%s during the outage: %v", name, err)
				return
			}
			var e tokenResponse
			jsonErr := json.Unmarshal(r.body, &e)
			switch {
			case r.status != http.StatusServiceUnavailable || jsonErr != nil || e.Error != "temporarily_unavailable":
				t.Errorf("%s during the outage: %d %s; want 503 temporarily_unavailable", name, r.status, r.body)
			case !strings.HasPrefix(r.header.Get("Content-Type"), "application/json"):
				t.Errorf("%s during the outage: Content-Type %q", name, r.header.Get("Content-Type"))
			case r.took > outageAnswerBound:
				t.Errorf("%s during the outage answered after %v, want within %v", name, r.took, outageAnswerBound)
			default:
				t.Logf("%s during the outage: 503 temporarily_unavailable in %v", name, r.took)
			}
		}()
	}

	// Meanwhile, the background jobs get an error, not a hang or a panic:
	// the janitor (DeleteExpired) and the signing-key reload log it and try
	// again at their next tick; the keys in memory keep signing.
	jobs := map[string]func(context.Context) error{
		"janitor's DeleteExpired": func(ctx context.Context) error {
			_, err := s.Server.Store().DeleteExpired(ctx, time.Now())
			return err
		},
		"signing-key reload": s.Server.Keys.Reload,
	}
	for name, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*outageAnswerBound)
			defer cancel()
			start := time.Now()
			err := job(ctx)
			took := time.Since(start)
			switch {
			case !errors.Is(err, storage.ErrUnavailable):
				t.Errorf("%s during the outage: %v, want ErrUnavailable", name, err)
			case took > outageAnswerBound:
				t.Errorf("%s during the outage failed after %v, want within %v", name, took, outageAnswerBound)
			default:
				t.Logf("%s during the outage failed in %v", name, took)
			}
		}()
	}
	wg.Wait()
	if r := get(t, s.URL+handlers.PathJWKS); string(r.body) != string(jwks.body) {
		t.Fatal("a failed key reload changed the JWKS")
	}

	// The database returns on the same address with the same data.
	restart := time.Now()
	var back *ferret
	for {
		back, err = startFerret(dir, db.addr)
		if err == nil || time.Since(restart) > 10*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("restart FerretDB on %s: %v", db.addr, err)
	}
	dbMu.Lock()
	db = back
	dbMu.Unlock()

	var ready time.Duration
	for {
		r := get(t, s.URL+handlers.PathReady)
		if r.status == 200 {
			ready = time.Since(restart)
			break
		}
		if time.Since(restart) > recoveryBound {
			t.Fatalf("/readyz still %d %v after FerretDB's restart", r.status, time.Since(restart))
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The refresh token presented during the outage was not spent.
	var next tokenResponse
	for {
		code, tr := refresh(t, s, rt)
		if code == 200 {
			next = tr
			break
		}
		if code != http.StatusServiceUnavailable || time.Since(restart) > recoveryBound {
			t.Fatalf("refresh after FerretDB's restart: %d %+v after %v", code, tr, time.Since(restart))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("after FerretDB's restart: /readyz 200 in %v, refresh 200 in %v", ready, time.Since(restart))
	mustRefresh(t, s, next.RefreshToken)
	login(t, s)
	// The revocation that failed changed nothing; retried, it works.
	if m := introspect(t, s, other.AccessToken); m["active"] != true {
		t.Fatalf("introspection after recovery: %v", m)
	}
	revoke(t, s, other.RefreshToken)
	refuseRefresh(t, s, other.RefreshToken, "token revoked after recovery")
	if r := post(t, s.URL, handlers.PathToken, clientCredentialsForm, servertest.WorkerClient, servertest.WorkerSecret); r.status != 200 {
		t.Fatalf("client_credentials after recovery: %d %s", r.status, r.body)
	}

	logs := s.Logs.String()
	if strings.Contains(logs, "panic") {
		t.Errorf("the server logged a panic:\n%s", logs)
	}
	if strings.Contains(logs, `"status":500`) {
		t.Errorf("the server answered 500:\n%s", logs)
	}
}
