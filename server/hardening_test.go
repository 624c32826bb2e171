package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
)

func TestRateLimit_429WithRetryAfterAndRecovery(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, func(c *server.Config) { c.RateLimit = 2; c.RateBurst = 3 })
	form := url.Values{"grant_type": {"client_credentials"}}
	var limited *http.Response
	for i := 0; i < 6; i++ {
		resp, err := http.PostForm(s.URL+"/oauth2/token", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = resp
			break
		}
	}
	if limited == nil {
		t.Fatal("no 429 after 6 requests with burst 3")
	}
	ra, err := strconv.Atoi(limited.Header.Get("Retry-After"))
	if err != nil || ra < 1 || !strings.HasPrefix(limited.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("429 headers = %v", limited.Header)
	}
	// Other endpoints have their own budget.
	if resp, err := http.Get(s.URL + "/.well-known/jwks.json"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("jwks while token endpoint is limited: %v %v", resp, err)
	}
	time.Sleep(time.Duration(ra)*time.Second + 100*time.Millisecond)
	resp, err := http.PostForm(s.URL+"/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		t.Fatal("still limited after Retry-After")
	}
}

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	spoof := func(s *servertest.Server, xff string) int {
		req, _ := http.NewRequest("POST", s.URL+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	t.Run("untrusted peer cannot escape its budget by spoofing", func(t *testing.T) {
		t.Parallel()
		s := servertest.Start(t, func(c *server.Config) { c.RateLimit = 0.5; c.RateBurst = 2 })
		got429 := false
		for i := 0; i < 5; i++ {
			if spoof(s, "203.0.113."+strconv.Itoa(i)) == http.StatusTooManyRequests {
				got429 = true
			}
		}
		if !got429 {
			t.Fatal("X-Forwarded-For from an untrusted peer was believed")
		}
	})
	t.Run("trusted proxy's forwarded address is the client", func(t *testing.T) {
		t.Parallel()
		s := servertest.Start(t, func(c *server.Config) {
			c.RateLimit, c.RateBurst = 0.5, 2
			c.TrustedProxies = mustPrefixes(t, "127.0.0.0/8")
		})
		for i := 0; i < 5; i++ {
			if code := spoof(s, "203.0.113."+strconv.Itoa(i)); code == http.StatusTooManyRequests {
				t.Fatalf("distinct clients behind a trusted proxy share a budget (request %d)", i)
			}
		}
	})
}

func TestCORS(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, func(c *server.Config) { c.CORSOrigins = []string{"https://app.example.kz"} })
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, s.URL+"/oauth2/token", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	ok := preflight("https://app.example.kz")
	if ok.StatusCode != 204 || ok.Header.Get("Access-Control-Allow-Origin") != "https://app.example.kz" ||
		!strings.Contains(ok.Header.Get("Access-Control-Allow-Methods"), "POST") || ok.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("allowed preflight: %d %v", ok.StatusCode, ok.Header)
	}
	if foreign := preflight("https://evil.example"); foreign.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight got CORS headers: %v", foreign.Header)
	}
	simple := func(origin string) http.Header {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/.well-known/jwks.json", nil)
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header
	}
	if h := simple("https://app.example.kz"); h.Get("Access-Control-Allow-Origin") != "https://app.example.kz" {
		t.Fatalf("allowed simple request: %v", h)
	}
	if h := simple("https://evil.example"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign simple request: %v", h)
	}
}

func TestHTTPS_EndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := servertest.StartIn(t, dir, func(c *server.Config) {
		c.Addr, c.Issuer = addr, "https://"+addr
		c.TLSCert, c.TLSKey = certFile, keyFile
	})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.PostForm("https://"+addr+"/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {servertest.MobileClient},
		"username": {servertest.User}, "password": {servertest.UserPassword}, "scope": {"translate"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("HTTPS token request: %d %+v", resp.StatusCode, resp.TLS)
	}
	if !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("no HSTS: %v", resp.Header)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
		t.Fatalf("token response caching headers: %v", resp.Header)
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get("https://" + addr + "/healthz"); err == nil {
		t.Fatal("TLS 1.1 accepted")
	}
	_ = s
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "qazauth test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func mustPrefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}
