package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/qaznat/qazauth/server/servertest"
)

// TestTokenEndpoint_BadInput sends malformed and hostile requests: each gets
// an RFC 6749 JSON error, never a 5xx, and the store is unchanged.
func TestTokenEndpoint_BadInput(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	valid := passwordGrant(t, s, servertest.User, servertest.UserPassword)
	form := "application/x-www-form-urlencoded"
	big := "grant_type=password&client_id=qaznat-mobile&username=aigerim&password=" + strings.Repeat("a", 1<<20)

	cases := []struct {
		name        string
		method      string
		contentType string
		body        string
		basic       []string
		wantStatus  int
		wantError   string
	}{
		{"wrong password", "POST", form, "grant_type=password&client_id=qaznat-mobile&username=aigerim&password=nope&scope=translate", nil, 400, "invalid_grant"},
		{"unknown user", "POST", form, "grant_type=password&client_id=qaznat-mobile&username=nobody&password=nope&scope=translate", nil, 400, "invalid_grant"},
		{"unknown client", "POST", form, "grant_type=password&client_id=nope&username=aigerim&password=x", nil, 401, "invalid_client"},
		{"wrong client secret", "POST", form, "grant_type=client_credentials", []string{servertest.WorkerClient, "bad"}, 401, "invalid_client"},
		{"duplicate parameter", "POST", form, "grant_type=password&grant_type=password&client_id=qaznat-mobile", nil, 400, "invalid_request"},
		{"duplicate across query and body", "POST?client_id=qaznat-mobile", form, "grant_type=password&client_id=qaznat-mobile", nil, 400, "invalid_request"},
		{"missing grant_type", "POST", form, "client_id=qaznat-mobile", nil, 400, "invalid_request"},
		{"unsupported grant_type", "POST", form, "grant_type=urn:foo&client_id=qaznat-mobile", nil, 400, "unsupported_grant_type"},
		{"grant not allowed for client", "POST", form, "grant_type=password&username=aigerim&password=correct+horse", []string{servertest.WorkerClient, servertest.WorkerSecret}, 400, "unauthorized_client"},
		{"public client asks client_credentials", "POST", form, "grant_type=client_credentials&client_id=qaznat-mobile", nil, 400, "invalid_grant"},
		{"missing password", "POST", form, "grant_type=password&client_id=qaznat-mobile&username=aigerim", nil, 400, "invalid_request"},
		{"scope not allowed", "POST", form, "grant_type=password&client_id=qaznat-mobile&username=aigerim&password=correct+horse&scope=admin", nil, 400, "invalid_scope"},
		{"audience not allowed", "POST", form, "grant_type=password&client_id=qaznat-mobile&username=aigerim&password=correct+horse&audience=other-api", nil, 400, "invalid_request"},
		{"unknown refresh token", "POST", form, "grant_type=refresh_token&client_id=qaznat-mobile&refresh_token=qzr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil, 400, "invalid_grant"},
		{"garbage refresh token", "POST", form, "grant_type=refresh_token&client_id=qaznat-mobile&refresh_token=%00%ff%22", nil, 400, "invalid_grant"},
		{"access token as refresh token", "POST", form, "grant_type=refresh_token&client_id=qaznat-mobile&refresh_token=" + url.QueryEscape(valid.AccessToken), nil, 400, "invalid_grant"},
		{"refresh token of another client", "POST", form, "grant_type=refresh_token&refresh_token=" + url.QueryEscape(valid.RefreshToken), []string{servertest.WorkerClient, servertest.WorkerSecret}, 400, "unauthorized_client"},
		{"JSON body", "POST", "application/json", `{"grant_type":"password"}`, nil, 400, "invalid_request"},
		{"multipart body", "POST", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\npassword\r\n--x--\r\n", nil, 400, "invalid_request"},
		{"no content type", "POST", "", "grant_type=password", nil, 400, "invalid_request"},
		{"malformed form", "POST", form, "grant_type=%zz", nil, 400, "invalid_request"},
		{"empty body", "POST", form, "", nil, 400, "invalid_request"},
		{"1 MiB body", "POST", form, big, nil, 400, "invalid_request"},
		{"GET", "GET", "", "", nil, 405, "invalid_request"},
		{"malformed basic auth", "POST", form, "grant_type=client_credentials", []string{"%zz", "x"}, 400, "invalid_request"},
	}
	before := s.Dump(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method, query, _ := strings.Cut(tc.method, "?")
			u := s.URL + "/oauth2/token"
			if query != "" {
				u += "?" + query
			}
			req, _ := http.NewRequest(method, u, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.basic != nil {
				req.SetBasicAuth(tc.basic[0], tc.basic[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var e tokenResponse
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body is not JSON: %q", body)
			}
			if resp.StatusCode != tc.wantStatus || e.Error != tc.wantError {
				t.Fatalf("got %d %q (%s), want %d %q", resp.StatusCode, e.Error, e.Description, tc.wantStatus, tc.wantError)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type = %q", ct)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
	if after := s.Dump(t); after != before {
		t.Fatalf("bad requests changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestPasswordGrant_NoUserEnumeration: an unknown user and a wrong password
// produce byte-identical answers and cost the same argon2id work.
func TestPasswordGrant_NoUserEnumeration(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t)
	var verifications atomic.Int32
	s.Server.Hasher.OnVerify = func() { verifications.Add(1) }
	answer := func(user string) ([]byte, int32) {
		verifications.Store(0)
		req, _ := http.NewRequest("POST", s.URL+"/oauth2/token", strings.NewReader(url.Values{
			"grant_type": {"password"}, "client_id": {servertest.MobileClient}, "username": {user}, "password": {"guess"},
		}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return append([]byte(resp.Status+" "), b...), verifications.Load()
	}
	known, nKnown := answer(servertest.User)
	unknown, nUnknown := answer("no-such-user")
	if !bytes.Equal(known, unknown) {
		t.Fatalf("answers differ:\nknown:   %s\nunknown: %s", known, unknown)
	}
	if nKnown != 1 || nUnknown != 1 {
		t.Fatalf("argon2id verifications: known user %d, unknown user %d; want 1 each", nKnown, nUnknown)
	}
}
