package mongotest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/qaznat/qazauth/handlers"
	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
)

// TestTwoInstancesActAsOne runs two `qazauth serve` instances (separate
// processes in production; here two servers in one test process, each with
// its own port, data directory, store connection and in-memory caches) on
// one MongoDB-wire database with one secret, and checks that a client cannot
// tell them apart. Against FerretDB always; against a real MongoDB too when
// QAZAUTH_TEST_MONGO_URI is set.
func TestTwoInstancesActAsOne(t *testing.T) {
	t.Run("FerretDB", func(t *testing.T) { twoInstances(t, sharedURI) })
	t.Run("MongoDB", func(t *testing.T) {
		uri := os.Getenv("QAZAUTH_TEST_MONGO_URI")
		if uri == "" {
			t.Skip("QAZAUTH_TEST_MONGO_URI not set")
		}
		twoInstances(t, uri)
	})
}

// grace is the refresh reuse grace window of the two-instance test: long
// enough for eight parallel refreshes on a loaded test machine.
const grace = 3 * time.Second

func twoInstances(t *testing.T, uri string) {
	db := newDBName("qazauth_two")
	secret := servertest.RandomSecret()
	shared := func(c *server.Config) {
		onMongo(uri, db, secret)(c)
		c.RefreshReuseGrace = grace
	}
	a := servertest.Start(t, shared)
	// Behind one load balancer every instance has the same public issuer
	// URL; here that is A's address, and each instance is still addressed
	// on its own port.
	b := servertest.Start(t, shared, func(c *server.Config) { c.Issuer = a.URL })
	if a.URL == b.URL || a.DataDir == b.DataDir {
		t.Fatalf("instances share an address or data directory: %s %s", a.URL, b.URL)
	}

	// One JWKS: byte-identical documents with the same ETag, so a resource
	// server's cache does not care which instance answered.
	ja := get(t, a.URL+handlers.PathJWKS)
	jb := get(t, b.URL+handlers.PathJWKS)
	if ja.status != 200 || jb.status != 200 {
		t.Fatalf("JWKS: %d at A, %d at B", ja.status, jb.status)
	}
	if !bytes.Equal(ja.body, jb.body) {
		t.Fatalf("JWKS differ:\nA: %s\nB: %s", ja.body, jb.body)
	}
	if ea, eb := ja.header.Get("ETag"), jb.header.Get("ETag"); ea == "" || ea != eb {
		t.Fatalf("JWKS ETag %q at A, %q at B", ea, eb)
	}
	req, _ := http.NewRequest(http.MethodGet, b.URL+handlers.PathJWKS, nil)
	req.Header.Set("If-None-Match", ja.header.Get("ETag"))
	if r := do(t, req); r.status != http.StatusNotModified {
		t.Fatalf("B with A's ETag: %d, want 304", r.status)
	}

	// A token issued by A: valid under B's JWKS, active at B's
	// introspection, and it refreshes at B.
	t1 := login(t, a)
	if c := verifyAccessToken(t, jb.body, t1.AccessToken); c["iss"] != a.URL {
		t.Fatalf("iss = %v, want %s", c["iss"], a.URL)
	}
	if m := introspect(t, b, t1.AccessToken); m["active"] != true || m["username"] != servertest.User || m["iss"] != a.URL {
		t.Fatalf("introspection at B of A's access token: %v", m)
	}
	t2 := mustRefresh(t, b, t1.RefreshToken)
	verifyAccessToken(t, ja.body, t2.AccessToken)
	if m := introspect(t, a, t2.RefreshToken); m["active"] != true {
		t.Fatalf("introspection at A of B's refresh token: %v", m)
	}

	// A rotation at A is seen at B: within the grace window B answers with
	// the successor A issued (a response lost on the way from A is
	// recovered through B), never a second one.
	u1 := login(t, a)
	u2 := mustRefresh(t, a, u1.RefreshToken)
	if again := mustRefresh(t, b, u1.RefreshToken); again.RefreshToken != u2.RefreshToken {
		t.Fatalf("grace retry at B: successor %q, A issued %q", again.RefreshToken, u2.RefreshToken)
	}

	time.Sleep(grace + 300*time.Millisecond)

	// Outside the grace window: the rotated token is reuse (theft
	// assumed) wherever it is presented, and the chain dies at both.
	refuseRefresh(t, a, t1.RefreshToken, "token rotated at B, presented at A after grace")
	refuseRefresh(t, b, t2.RefreshToken, "newest token of a chain revoked at A")
	refuseRefresh(t, a, t2.RefreshToken, "newest token of a chain revoked at A")
	if m := introspect(t, b, t2.AccessToken); m["active"] != false {
		t.Fatalf("introspection at B of an access token of a revoked chain: %v", m)
	}
	refuseRefresh(t, b, u1.RefreshToken, "token rotated at A, presented at B after grace")
	refuseRefresh(t, a, u2.RefreshToken, "newest token of a chain revoked at B")

	// Parallel refreshes of one token within the grace window, split
	// across A and B, converge on one successor.
	v1 := login(t, b)
	const n = 8
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		got      = map[string]int{}
		accesses []string
		fails    []string
		start    = make(chan struct{})
	)
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := tryPost(s.URL, handlers.PathToken, refreshForm(v1.RefreshToken))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails = append(fails, err.Error())
				return
			}
			var tr tokenResponse
			if r.status != 200 || json.Unmarshal(r.body, &tr) != nil {
				fails = append(fails, string(r.body))
				return
			}
			got[tr.RefreshToken]++
			accesses = append(accesses, tr.AccessToken)
		}()
	}
	begin := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d parallel refreshes across A and B took %v", n, time.Since(begin))
	if len(fails) > 0 || len(got) != 1 {
		t.Fatalf("%d parallel refreshes across A and B: failures %v, distinct successors %d; want none and 1", n, fails, len(got))
	}
	for _, at := range accesses {
		verifyAccessToken(t, ja.body, at)
	}
	var v2 string
	for k := range got {
		v2 = k
	}
	v3 := mustRefresh(t, a, v2)
	mustRefresh(t, b, v3.RefreshToken)

	// Revocation at A takes effect at B, for the refresh token and the
	// access tokens of its chain.
	w1 := login(t, b)
	revoke(t, a, w1.RefreshToken)
	refuseRefresh(t, b, w1.RefreshToken, "refresh token revoked at A")
	if m := introspect(t, b, w1.AccessToken); m["active"] != false {
		t.Fatalf("introspection at B of an access token revoked at A: %v", m)
	}
	// Revoking an access token at B ends its chain at A.
	x1 := login(t, a)
	r := post(t, b.URL, handlers.PathRevoke, map[string][]string{
		"token": {x1.AccessToken}, "token_type_hint": {"access_token"}, "client_id": {servertest.MobileClient},
	})
	if r.status != 200 {
		t.Fatalf("revoke access token at B: %d %s", r.status, r.body)
	}
	refuseRefresh(t, a, x1.RefreshToken, "chain whose access token was revoked at B")

	// Still one JWKS.
	if ja2, jb2 := get(t, a.URL+handlers.PathJWKS), get(t, b.URL+handlers.PathJWKS); !bytes.Equal(ja2.body, jb2.body) || !bytes.Equal(ja2.body, ja.body) {
		t.Fatal("the JWKS documents of A and B diverged")
	}
}
