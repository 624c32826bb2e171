package resource

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/mux"
)

func TestMiddleware(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	clock := newFakeClock()
	now := clock.Now()
	v := newTestValidator(t, iss, clock, Realm("video-api"), RequiredScopes("openid"))

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFrom(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "hello "+c.Username)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /videos", v.Middleware("video:read")(hello))
	mux.Handle("POST /videos", v.Middleware("video:upload video:read")(hello))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	valid := signRS256(t, keyA(), header("a"), claims(iss.URL, now))
	expiredClaims := claims(iss.URL, now.Add(-time.Hour))
	expired := signRS256(t, keyA(), header("a"), expiredClaims)
	expiredForged := signRS256(t, attackerKey(), header("a"), expiredClaims)
	noOpenID := claims(iss.URL, now)
	noOpenID["scope"] = "video:read"

	tests := []struct {
		name          string
		method        string
		auth          []string
		wantStatus    int
		wantChallenge string
		wantExpired   bool
		wantError     string
		wantBody      string
	}{
		{
			name: "no token", method: "GET",
			wantStatus: 401, wantChallenge: `Bearer realm="video-api"`, wantError: "unauthorized",
		},
		{
			name: "other scheme", method: "GET", auth: []string{"Basic dXNlcjpwYXNz"},
			wantStatus: 401, wantChallenge: `Bearer realm="video-api"`, wantError: "unauthorized",
		},
		{
			name: "valid", method: "GET", auth: []string{"Bearer " + valid},
			wantStatus: 200, wantBody: "hello aida",
		},
		{
			name: "scheme in lower case", method: "GET", auth: []string{"bearer " + valid},
			wantStatus: 200, wantBody: "hello aida",
		},
		{
			name: "garbage token", method: "GET", auth: []string{"Bearer abc"},
			wantStatus:    401,
			wantChallenge: `Bearer realm="video-api", error="invalid_token", error_description="malformed token: want three dot-separated parts"`,
			wantError:     "invalid_token",
		},
		{
			name: "empty token", method: "GET", auth: []string{"Bearer "},
			wantStatus:    401,
			wantChallenge: `Bearer realm="video-api", error="invalid_token", error_description="malformed token: empty token"`,
			wantError:     "invalid_token",
		},
		{
			name: "expired", method: "GET", auth: []string{"Bearer " + expired},
			wantStatus:    401,
			wantChallenge: `Bearer realm="video-api", error="invalid_token", error_description="token expired"`,
			wantExpired:   true, wantError: "invalid_token",
		},
		{
			name: "expired and forged", method: "GET", auth: []string{"Bearer " + expiredForged},
			wantStatus:    401,
			wantChallenge: `Bearer realm="video-api", error="invalid_token", error_description="invalid token signature"`,
			wantError:     "invalid_token",
		},
		{
			name: "missing route scope", method: "POST", auth: []string{"Bearer " + valid},
			wantStatus:    403,
			wantChallenge: `Bearer realm="video-api", error="insufficient_scope", error_description="insufficient scope: missing video:upload", scope="openid video:upload video:read"`,
			wantError:     "insufficient_scope",
		},
		{
			name: "missing baseline scope", method: "GET", auth: []string{"Bearer " + signRS256(t, keyA(), header("a"), noOpenID)},
			wantStatus:    403,
			wantChallenge: `Bearer realm="video-api", error="insufficient_scope", error_description="insufficient scope: missing openid", scope="openid video:read"`,
			wantError:     "insufficient_scope",
		},
		{
			name: "two Authorization headers", method: "GET", auth: []string{"Bearer " + valid, "Bearer " + valid},
			wantStatus:    400,
			wantChallenge: `Bearer realm="video-api", error="invalid_request", error_description="more than one Authorization header"`,
			wantError:     "invalid_request",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.method, srv.URL+"/videos?access_token="+valid, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range tt.auth {
				req.Header.Add("Authorization", a)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)

			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 200 {
				if string(body) != tt.wantBody {
					t.Errorf("body = %q, want %q", body, tt.wantBody)
				}
				if h := resp.Header.Get("WWW-Authenticate"); h != "" {
					t.Errorf("WWW-Authenticate on success: %q", h)
				}
				return
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %s\n                   want %s", got, tt.wantChallenge)
			}
			if got := resp.Header.Get("Token-Expired") == "true"; got != tt.wantExpired {
				t.Errorf("Token-Expired present = %v, want %v", got, tt.wantExpired)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			var eb errorBody
			if err := json.Unmarshal(body, &eb); err != nil {
				t.Fatalf("body %q is not JSON: %v", body, err)
			}
			if eb.Error != tt.wantError || eb.Description == "" {
				t.Errorf("body = %s, want error %q with a description", body, tt.wantError)
			}
		})
	}
}

func TestMiddlewareGorillaMux(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	clock := newFakeClock()
	v := newTestValidator(t, iss, clock)

	r := mux.NewRouter()
	r.Use(v.Middleware("video:translate"))
	r.HandleFunc("/videos/{id}", func(w http.ResponseWriter, r *http.Request) {
		c, _ := ClaimsFrom(r.Context())
		io.WriteString(w, mux.Vars(r)["id"]+" for "+c.Subject)
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	get := func(token string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/videos/7", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, body := get(signRS256(t, keyA(), header("a"), claims(iss.URL, clock.Now())))
	if resp.StatusCode != 200 || body != "7 for user-42" {
		t.Errorf("valid token: %d %q", resp.StatusCode, body)
	}
	resp, _ = get("")
	if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || got != "Bearer" {
		t.Errorf("no token: %d, WWW-Authenticate %q; want 401, a bare Bearer challenge", resp.StatusCode, got)
	}
}

func TestClaimsContext(t *testing.T) {
	t.Parallel()
	if _, ok := ClaimsFrom(context.Background()); ok {
		t.Error("ClaimsFrom found claims in an empty context")
	}
	if _, ok := ClaimsFrom(WithClaims(context.Background(), nil)); ok {
		t.Error("ClaimsFrom reported nil claims as present")
	}
	want := &Claims{Subject: "s"}
	if got, ok := ClaimsFrom(WithClaims(context.Background(), want)); !ok || got != want {
		t.Errorf("ClaimsFrom = %v, %v", got, ok)
	}
}
