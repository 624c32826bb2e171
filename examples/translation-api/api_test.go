package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qaznat/qazauth/server/servertest"
)

// TestAPI exercises every endpoint against a real qazauth with real tokens
// (default 15-minute access tokens): authentication and scope, the job
// lifecycle, ownership, the synchronous endpoint and input validation.
func TestAPI(t *testing.T) {
	t.Parallel()
	auth := startAuth(t)
	env := startAPI(t, auth, jobStoreConfig{SegmentTime: 20 * time.Millisecond})
	aigerim := passwordGrant(t, env.tokenURL(), servertest.User, servertest.UserPassword, scopesWithTranslate)
	nurlan := passwordGrant(t, env.tokenURL(), servertest.OtherUser, servertest.OtherUserPassword, scopesWithTranslate)

	t.Run("Healthz", func(t *testing.T) {
		t.Parallel()
		r := do(t, nil, http.MethodGet, env.apiURL("/healthz"), "", nil)
		if r.Status != http.StatusOK || decode[map[string]string](t, r)["status"] != "ok" {
			t.Fatalf("GET /healthz = %d %s", r.Status, r.Body)
		}
	})

	t.Run("NoToken401", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct{ method, url string }{
			{http.MethodPost, env.jobsURL()},
			{http.MethodGet, env.jobURL("anything")},
			{http.MethodPost, env.syncURL()},
		} {
			r := do(t, nil, c.method, c.url, "", segmentsBody("x", 1))
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s %s without token = %d, want 401", c.method, c.url, r.Status)
			}
			if wa := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer") || strings.Contains(wa, "error=") {
				t.Errorf("WWW-Authenticate = %q, want a bare Bearer challenge (RFC 6750 §3.1)", wa)
			}
			if r.Header.Get("Token-Expired") != "" {
				t.Errorf("Token-Expired set on a request without a token")
			}
		}
	})

	t.Run("InvalidToken401", func(t *testing.T) {
		t.Parallel()
		// A tampered signature: invalid_token, but not expired, so a client
		// must not try a refresh.
		bad := aigerim.AccessToken[:len(aigerim.AccessToken)-4] + "AAAA"
		r := do(t, nil, http.MethodGet, env.jobURL("x"), bad, nil)
		if r.Status != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("tampered token: %d %q", r.Status, r.Header.Get("WWW-Authenticate"))
		}
		if r.Header.Get("Token-Expired") != "" {
			t.Errorf("Token-Expired set for a tampered token")
		}
	})

	t.Run("MissingScope403", func(t *testing.T) {
		t.Parallel()
		tok := passwordGrant(t, env.tokenURL(), servertest.User, servertest.UserPassword, scopesWithoutTranslate)
		if strings.Contains(" "+tok.Scope+" ", " translate ") {
			t.Fatalf("token without translate requested, but granted scope %q", tok.Scope)
		}
		for _, c := range []struct{ method, url string }{
			{http.MethodPost, env.jobsURL()},
			{http.MethodGet, env.jobURL("anything")},
			{http.MethodPost, env.syncURL()},
		} {
			r := do(t, nil, c.method, c.url, tok.AccessToken, segmentsBody("x", 1))
			wa := r.Header.Get("WWW-Authenticate")
			if r.Status != http.StatusForbidden || !strings.Contains(wa, `error="insufficient_scope"`) || !strings.Contains(wa, `scope="translate"`) {
				t.Errorf("%s %s without translate scope = %d %q, want 403 insufficient_scope", c.method, c.url, r.Status, wa)
			}
		}
	})

	t.Run("JobLifecycle", func(t *testing.T) {
		t.Parallel()
		body := segmentsBody("lifecycle", 5)
		r := do(t, nil, http.MethodPost, env.jobsURL(), aigerim.AccessToken, body)
		if r.Status != http.StatusAccepted {
			t.Fatalf("POST jobs = %d %s, want 202", r.Status, r.Body)
		}
		created := decode[createResponse](t, r)
		if created.ID == "" || created.Status != statusRunning || created.Total != 5 {
			t.Fatalf("created = %+v", created)
		}
		if loc := r.Header.Get("Location"); loc != "/api/translation/jobs/"+created.ID {
			t.Errorf("Location = %q", loc)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
		want := translated(body.Segments)
		final := pollDone(t, time.Now().Add(30*time.Second), 10*time.Millisecond, func() (jobView, error) {
			r := do(t, nil, http.MethodGet, env.jobURL(created.ID), aigerim.AccessToken, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("GET job = %d %s", r.Status, r.Body)
			}
			return decode[jobView](t, r), nil
		}, want)
		if final.ID != created.ID {
			t.Errorf("job id %q, want %q", final.ID, created.ID)
		}
	})

	t.Run("OtherUsersJob404", func(t *testing.T) {
		t.Parallel()
		r := do(t, nil, http.MethodPost, env.jobsURL(), aigerim.AccessToken, segmentsBody("private", 2))
		if r.Status != http.StatusAccepted {
			t.Fatalf("POST jobs = %d %s", r.Status, r.Body)
		}
		id := decode[createResponse](t, r).ID
		other := do(t, nil, http.MethodGet, env.jobURL(id), nurlan.AccessToken, nil)
		unknown := do(t, nil, http.MethodGet, env.jobURL("no-such-job"), nurlan.AccessToken, nil)
		if other.Status != http.StatusNotFound || unknown.Status != http.StatusNotFound {
			t.Fatalf("other user's job = %d, unknown job = %d, want 404 and 404", other.Status, unknown.Status)
		}
		// Indistinguishable: the same body for "exists but not yours" and
		// "does not exist".
		if string(other.Body) != string(unknown.Body) {
			t.Errorf("bodies differ: %s vs %s", other.Body, unknown.Body)
		}
		if own := do(t, nil, http.MethodGet, env.jobURL(id), aigerim.AccessToken, nil); own.Status != http.StatusOK {
			t.Errorf("owner's GET = %d", own.Status)
		}
	})

	t.Run("ClientCredentialsJobs", func(t *testing.T) {
		t.Parallel()
		// A service token (sub = client id) owns its own jobs.
		worker := clientCredentials(t, env.tokenURL())
		r := do(t, nil, http.MethodPost, env.jobsURL(), worker.AccessToken, segmentsBody("worker", 1))
		if r.Status != http.StatusAccepted {
			t.Fatalf("POST jobs as translation-worker = %d %s", r.Status, r.Body)
		}
		id := decode[createResponse](t, r).ID
		if r := do(t, nil, http.MethodGet, env.jobURL(id), worker.AccessToken, nil); r.Status != http.StatusOK {
			t.Errorf("worker's own job = %d", r.Status)
		}
		if r := do(t, nil, http.MethodGet, env.jobURL(id), aigerim.AccessToken, nil); r.Status != http.StatusNotFound {
			t.Errorf("worker's job as aigerim = %d, want 404", r.Status)
		}
	})

	t.Run("TranslateSegmentsSync", func(t *testing.T) {
		t.Parallel()
		body := segmentsBody("sync", 4)
		r := do(t, nil, http.MethodPost, env.syncURL(), aigerim.AccessToken, body)
		if r.Status != http.StatusOK {
			t.Fatalf("POST translate-segments = %d %s", r.Status, r.Body)
		}
		got := decode[segmentsResponse](t, r).Segments
		want := translated(body.Segments)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("segments = %q, want %q", got, want)
		}
	})

	t.Run("SyncOutlivesServerTimeouts", func(t *testing.T) {
		t.Parallel()
		// A synchronous translation may take far longer than the server's
		// read and write timeouts (30 s), which must not cut it off: here
		// 4 × 150 ms against timeouts of 200 ms.
		short := startAPIWith(t, auth, jobStoreConfig{SegmentTime: 150 * time.Millisecond}, func(s *http.Server) {
			s.ReadTimeout = 200 * time.Millisecond
			s.WriteTimeout = 200 * time.Millisecond
		})
		body := segmentsBody("slow sync", 4)
		r, err := doErr(nil, http.MethodPost, short.syncURL(), aigerim.AccessToken, body)
		if err != nil {
			t.Fatalf("synchronous translation longer than the server timeouts: %v", err)
		}
		if r.Status != http.StatusOK || len(decode[segmentsResponse](t, r).Segments) != 4 {
			t.Fatalf("synchronous translation longer than the server timeouts: %d %s", r.Status, r.Body)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		t.Parallel()
		tooMany := make([]string, maxSegments+1)
		bigSegment := strings.Repeat("ә", maxSegmentBytes/2+1) // 2 bytes per rune
		// 150 segments of 8 KiB: each is allowed, the body (1.2 MiB) is not.
		bigBody := make([]string, 150)
		for i := range bigBody {
			bigBody[i] = strings.Repeat("x", 8<<10)
		}
		mustJSON := func(v any) string {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		cases := []struct {
			name        string
			contentType string
			body        string
			want        int
		}{
			{"no content type", "", `{"segments":["a"]}`, http.StatusUnsupportedMediaType},
			{"text/plain", "text/plain", `{"segments":["a"]}`, http.StatusUnsupportedMediaType},
			{"form", "application/x-www-form-urlencoded", `segments=a`, http.StatusUnsupportedMediaType},
			{"empty body", "application/json", ``, http.StatusBadRequest},
			{"truncated", "application/json", `{"segments":["a"`, http.StatusBadRequest},
			{"syntax", "application/json", `{"segments":[a]}`, http.StatusBadRequest},
			{"array", "application/json", `["a"]`, http.StatusBadRequest},
			{"string segments", "application/json", `{"segments":"a"}`, http.StatusBadRequest},
			{"number segment", "application/json", `{"segments":[1]}`, http.StatusBadRequest},
			{"object segment", "application/json", `{"segments":[{"text":"a"}]}`, http.StatusBadRequest},
			{"missing segments", "application/json", `{}`, http.StatusBadRequest},
			{"null segments", "application/json", `{"segments":null}`, http.StatusBadRequest},
			{"no segments", "application/json", `{"segments":[]}`, http.StatusBadRequest},
			{"unknown field", "application/json", `{"segments":["a"],"lang":"kk"}`, http.StatusBadRequest},
			{"trailing data", "application/json", `{"segments":["a"]} {"segments":["b"]}`, http.StatusBadRequest},
			{"trailing garbage", "application/json", `{"segments":["a"]}x`, http.StatusBadRequest},
			{"too many segments", "application/json", mustJSON(segmentsRequest{tooMany}), http.StatusBadRequest},
			{"segment too long", "application/json", mustJSON(segmentsRequest{[]string{"ok", bigSegment}}), http.StatusBadRequest},
			{"body too large", "application/json", mustJSON(segmentsRequest{bigBody}), http.StatusRequestEntityTooLarge},
		}
		for _, url := range []string{env.jobsURL(), env.syncURL()} {
			for _, c := range cases {
				req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(c.body))
				if err != nil {
					t.Fatal(err)
				}
				if c.contentType != "" {
					req.Header.Set("Content-Type", c.contentType)
				}
				req.Header.Set("Authorization", "Bearer "+aigerim.AccessToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				var e errorResponse
				derr := json.NewDecoder(resp.Body).Decode(&e)
				resp.Body.Close()
				if resp.StatusCode != c.want {
					t.Errorf("%s %s: status %d (%+v), want %d", url, c.name, resp.StatusCode, e, c.want)
					continue
				}
				if derr != nil || e.Error != "invalid_request" || e.Description == "" || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s: body %+v (%v), Content-Type %q: want a JSON invalid_request error", c.name, e, derr, resp.Header.Get("Content-Type"))
				}
			}
		}
		// Boundaries are accepted: exactly maxSegments segments of exactly
		// maxSegmentBytes would exceed the body limit, so check them apart.
		exact := make([]string, maxSegments)
		if r := do(t, nil, http.MethodPost, env.jobsURL(), aigerim.AccessToken, segmentsRequest{exact}); r.Status != http.StatusAccepted {
			t.Errorf("%d segments: %d %s, want 202", maxSegments, r.Status, r.Body)
		}
		full := strings.Repeat("я", maxSegmentBytes/2)
		if r := do(t, nil, http.MethodPost, env.syncURL(), aigerim.AccessToken, segmentsRequest{[]string{full}}); r.Status != http.StatusOK {
			t.Errorf("segment of %d bytes: %d %s, want 200", len(full), r.Status, r.Body)
		}
	})

	t.Run("UnknownRoutesAreJSON", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			method, path string
			want         int
		}{
			{http.MethodGet, "/api/translation/nope", http.StatusNotFound},
			{http.MethodGet, "/api/translation/jobs/", http.StatusNotFound},
			{http.MethodDelete, "/api/translation/jobs/abc", http.StatusMethodNotAllowed},
			{http.MethodGet, "/api/translation/translate-segments", http.StatusMethodNotAllowed},
		} {
			r := do(t, nil, c.method, env.apiURL(c.path), aigerim.AccessToken, nil)
			if r.Status != c.want || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s = %d %q, want %d JSON", c.method, c.path, r.Status, r.Header.Get("Content-Type"), c.want)
				continue
			}
			if e := decode[errorResponse](t, r); e.Error == "" {
				t.Errorf("%s %s: body %s", c.method, c.path, r.Body)
			}
			if c.want == http.StatusMethodNotAllowed && r.Header.Get("Allow") == "" {
				t.Errorf("%s %s: 405 without Allow", c.method, c.path)
			}
		}
	})

	t.Run("TooManyJobs429", func(t *testing.T) {
		t.Parallel()
		// The per-user bound through HTTP: 429 while all of the user's jobs
		// run; other users are unaffected.
		slow := startAPI(t, auth, jobStoreConfig{SegmentTime: time.Hour, MaxJobsPerOwner: 2})
		for i := range 2 {
			if r := do(t, nil, http.MethodPost, slow.jobsURL(), aigerim.AccessToken, segmentsBody("slow", 1)); r.Status != http.StatusAccepted {
				t.Fatalf("job %d: %d %s", i, r.Status, r.Body)
			}
		}
		r := do(t, nil, http.MethodPost, slow.jobsURL(), aigerim.AccessToken, segmentsBody("slow", 1))
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Fatalf("third job: %d %s (Retry-After %q), want 429", r.Status, r.Body, r.Header.Get("Retry-After"))
		}
		if r := do(t, nil, http.MethodPost, slow.jobsURL(), nurlan.AccessToken, segmentsBody("slow", 1)); r.Status != http.StatusAccepted {
			t.Fatalf("other user's job: %d %s", r.Status, r.Body)
		}
	})

	t.Cleanup(func() {
		checkNoTokensLogged(t, env.logs.String(), aigerim.AccessToken, nurlan.AccessToken, aigerim.RefreshToken)
	})
}
