package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// fakeResolver answers from a fixed table, so the tests never touch DNS.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var ips []netip.Addr
	for _, a := range addrs {
		ips = append(ips, netip.MustParseAddr(a))
	}
	return ips, nil
}

func TestParseTarget_AcceptsOnlyLoopback(t *testing.T) {
	r := fakeResolver{
		"localhost":         {"127.0.0.1", "::1"},
		"bench.localhost":   {"127.0.0.2"},
		"example.com":       {"93.184.215.14"},
		"rebind.example":    {"127.0.0.1", "10.0.0.7"}, // one bad address is enough to refuse
		"private.internal":  {"192.168.1.10"},
		"empty.example":     {},
		"v6-public.example": {"2001:db8::1"},
	}
	tests := []struct {
		url     string
		ok      bool
		wantURL string
	}{
		{"http://127.0.0.1:8080", true, "http://127.0.0.1:8080"},
		{"http://127.0.0.1:18080/", true, "http://127.0.0.1:18080"},
		{"http://127.255.3.4:80", true, "http://127.255.3.4:80"},
		{"http://[::1]:8080", true, "http://[::1]:8080"},
		{"http://[::ffff:127.0.0.1]:8080", true, "http://[::ffff:127.0.0.1]:8080"},
		{"https://localhost:8443/issuer/", true, "https://localhost:8443/issuer"},
		{"http://bench.localhost:1", true, "http://bench.localhost:1"},

		{"http://10.0.0.1:8080", false, ""},
		{"http://0.0.0.0:8080", false, ""},
		{"http://[::]:8080", false, ""},
		{"http://128.0.0.1:8080", false, ""},
		{"http://[2001:db8::1]:8080", false, ""},
		{"http://example.com", false, ""},
		{"http://rebind.example:8080", false, ""},
		{"http://private.internal", false, ""},
		{"http://v6-public.example", false, ""},
		{"http://empty.example", false, ""},
		{"http://unknown.example", false, ""},
		{"ftp://127.0.0.1/", false, ""},
		{"127.0.0.1:8080", false, ""},
		{"http://", false, ""},
		{"http://user:pw@127.0.0.1:8080", false, ""},
		{"http://127.0.0.1:8080/?x=1", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			u, err := parseTarget(context.Background(), tt.url, r)
			if !tt.ok {
				if err == nil {
					t.Fatalf("accepted %q as %v", tt.url, u)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused %q: %v", tt.url, err)
			}
			if u.String() != tt.wantURL {
				t.Errorf("parsed %q as %q, want %q", tt.url, u, tt.wantURL)
			}
		})
	}
}

func TestParseTarget_NonLoopbackErrorIsTyped(t *testing.T) {
	_, err := parseTarget(context.Background(), "http://example.com", fakeResolver{"example.com": {"93.184.215.14"}})
	var nl *notLoopbackError
	if !errors.As(err, &nl) || !strings.Contains(err.Error(), "93.184.215.14") {
		t.Fatalf("err = %v, want a notLoopbackError naming the address", err)
	}
}

func TestDialLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080":        true,
		"127.9.9.9:1":           true,
		"[::1]:8080":            true,
		"[::ffff:127.0.0.1]:80": true,
		"10.0.0.1:8080":         false,
		"[2001:db8::1]:443":     false,
		"0.0.0.0:8080":          false,
		"localhost:8080":        false, // the dialer sees resolved addresses only
	} {
		if err := dialLoopbackOnly("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("dialLoopbackOnly(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestHTTPClient_ReachesLoopbackAndDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	hc := newHTTPClient(2)
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want the 302 itself", resp.StatusCode)
	}
	// The dialer refuses before connecting: no packet leaves the machine.
	var nl *notLoopbackError
	if _, err := hc.Get("http://192.0.2.1:9/"); !errors.As(err, &nl) {
		t.Fatalf("GET of a non-loopback address: err = %v, want a notLoopbackError", err)
	}
}
