package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qaznat/qazauth/server/servertest"
)

// fuzzHandler builds one in-process server for a fuzz target.
func fuzzHandler(f *testing.F) http.Handler {
	h, _ := benchServerTB(f, 0, servertest.FastPasswords)
	return h
}

// FuzzTokenEndpoint feeds arbitrary bodies, content types and client
// credentials to /oauth2/token: the answer is never a 5xx, and always an
// RFC 6749 JSON error or a token response.
func FuzzTokenEndpoint(f *testing.F) {
	for _, seed := range []struct{ body, ct, auth string }{
		{"grant_type=password&client_id=qaznat-mobile&username=aigerim&password=correct+horse&scope=translate", "application/x-www-form-urlencoded", ""},
		{"grant_type=client_credentials&scope=translate", "application/x-www-form-urlencoded", "Basic dHJhbnNsYXRpb24td29ya2VyOmNoYW5nZS1tZQ=="},
		{"grant_type=refresh_token&client_id=qaznat-mobile&refresh_token=qzr_AAAA", "application/x-www-form-urlencoded", ""},
		{"grant_type=authorization_code&client_id=qaznat-mobile&code=qzc_x&code_verifier=abc&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback", "application/x-www-form-urlencoded", ""},
		{"grant_type=password&grant_type=password", "application/x-www-form-urlencoded; charset=utf-8", "Basic %%%"},
		{`{"grant_type":"password"}`, "application/json", "Bearer x"},
		{"%zz%00\xff", "application/x-www-form-urlencoded", "Basic Og=="},
	} {
		f.Add(seed.body, seed.ct, seed.auth)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body, ct, auth string) {
		req := httptest.NewRequest(http.MethodPost, "http://localhost:8080/oauth2/token", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body.String())
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("non-JSON answer %d: %q", rec.Code, rec.Body.String())
		}
		if rec.Code != 200 && m["error"] == nil {
			t.Fatalf("error answer without an error code: %d %v", rec.Code, m)
		}
	})
}

// FuzzAuthorize feeds arbitrary query strings (and form bodies) to
// /oauth2/auth: never a 5xx, and a redirect only to a registered URI.
func FuzzAuthorize(f *testing.F) {
	for _, q := range []string{
		"response_type=code&client_id=qaznat-mobile&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcallback&scope=openid&state=abcdefgh12&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
		"response_type=token&client_id=qaznat-mobile",
		"client_id=partner-app&redirect_uri=http%3A%2F%2F127.0.0.1%2Fpartner&response_type=code&prompt=none",
		"response_type=code&client_id=x&redirect_uri=https%3A%2F%2Fevil.example%2F",
		"max_age=-1&ui_locales=%00&prompt=login+none&response_type=code&client_id=qaznat-mobile",
		"%zz=1&&&==",
	} {
		f.Add(q, "")
	}
	h := fuzzHandler(f)
	allowed := []string{"kz.qaznat.app:/oauth2redirect", "http://127.0.0.1", "http://127.0.0.1/partner", "https://app.example.kz/callback"}
	f.Fuzz(func(t *testing.T, query, body string) {
		method := http.MethodGet
		if body != "" {
			method = http.MethodPost
		}
		req := httptest.NewRequest(method, "http://localhost:8080/oauth2/auth", strings.NewReader(body))
		req.URL.RawQuery = query
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, query, rec.Body.String())
		}
		if loc := rec.Header().Get("Location"); loc != "" {
			ok := false
			for _, a := range allowed {
				if strings.HasPrefix(loc, a) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("redirect to an unregistered URI %q for %q", loc, query)
			}
		}
	})
}
