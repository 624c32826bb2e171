package resource

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	clock := newFakeClock()
	now := clock.Now()
	v := newTestValidator(t, iss, clock)

	tok := signRS256(t, keyA(), header("a"), claims(iss.URL, now))
	got, err := v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := &Claims{
		Subject:   "user-42",
		ClientID:  "flutter-app",
		Scopes:    []string{"openid", "video:translate", "video:read"},
		Roles:     []string{"user", "translator"},
		Username:  "aida",
		Email:     "aida@example.kz",
		ExpiresAt: now.Add(5 * time.Minute),
		IssuedAt:  now,
		JTI:       "jti-1",
		Audience:  []string{testAudience},
		SessionID: "session-7",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("claims = %+v\nwant     %+v", got, want)
	}
	if !got.HasScope("video:read") || got.HasScope("video") || !got.HasRole("translator") {
		t.Errorf("HasScope/HasRole give wrong answers for %v / %v", got.Scopes, got.Roles)
	}
}

func TestValidateAcceptsVariants(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	iss.publish(jwk("a", &keyA().PublicKey), func() map[string]any {
		k := jwk("ps", &keyB().PublicKey)
		delete(k, "alg")
		return k
	}())
	clock := newFakeClock()
	now := clock.Now()
	v := newTestValidator(t, iss, clock, Algorithms("RS256", "PS256"))

	withClaim := func(name string, value any) map[string]any {
		c := claims(iss.URL, now)
		if value == nil {
			delete(c, name)
		} else {
			c[name] = value
		}
		return c
	}
	withTyp := func(typ string) map[string]any {
		h := header("a")
		h["typ"] = typ
		return h
	}
	tests := []struct {
		name  string
		token string
		check func(*Claims) bool
	}{
		{"aud as array", signRS256(t, keyA(), header("a"), withClaim("aud", []string{"other", testAudience})),
			func(c *Claims) bool { return reflect.DeepEqual(c.Audience, []string{"other", testAudience}) }},
		{"aud with JSON escapes", signRS256(t, keyA(), header("a"), json.RawMessage(strings.Replace(
			string(must(jsonMarshal(claims(iss.URL, now)))), `"aud":"video-api"`, `"aud":"video\u002dapi"`, 1))),
			func(c *Claims) bool { return reflect.DeepEqual(c.Audience, []string{testAudience}) }},
		{"typ upper case", signRS256(t, keyA(), withTyp("AT+JWT"), claims(iss.URL, now)), nil},
		{"typ media type", signRS256(t, keyA(), withTyp("application/at+jwt"), claims(iss.URL, now)), nil},
		{"client credentials token without user claims", signRS256(t, keyA(), header("a"), map[string]any{
			"iss": iss.URL, "sub": "svc", "aud": testAudience, "client_id": "svc",
			"exp": now.Unix() + 60, "iat": now.Unix(),
		}), func(c *Claims) bool { return c.Username == "" && len(c.Roles) == 0 && len(c.Scopes) == 0 }},
		{"fractional dates", signRS256(t, keyA(), header("a"), withClaim("exp", float64(now.Unix())+0.5)),
			func(c *Claims) bool { return c.ExpiresAt.Equal(now.Add(500 * time.Millisecond)) }},
		{"scope with extra spaces", signRS256(t, keyA(), header("a"), withClaim("scope", " a  b\tc ")),
			func(c *Claims) bool { return reflect.DeepEqual(c.Scopes, []string{"a", "b", "c"}) }},
		{"empty scope", signRS256(t, keyA(), header("a"), withClaim("scope", "")),
			func(c *Claims) bool { return len(c.Scopes) == 0 }},
		{"nbf in the past", signRS256(t, keyA(), header("a"), withClaim("nbf", now.Unix()-10)), nil},
		{"PS256 with a key not pinned to an alg", signPS256(t, keyB(), map[string]any{"alg": "PS256", "typ": "at+jwt", "kid": "ps"}, claims(iss.URL, now)), nil},
		{"signed by go-jose", signGoJose(t, keyA(), "a", claims(iss.URL, now)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := v.Validate(context.Background(), tt.token)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tt.check != nil && !tt.check(c) {
				t.Errorf("unexpected claims %+v", c)
			}
		})
	}
}

func signPS256(tb testing.TB, key *rsa.PrivateKey, hdr, cl any) string {
	tb.Helper()
	input := signingInput(tb, hdr, cl)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + b64(sig)
}

// signGoJose signs the way a go-jose based issuer would.
func signGoJose(tb testing.TB, key *rsa.PrivateKey, kid string, cl any) string {
	tb.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		tb.Fatal(err)
	}
	payload, err := jsonMarshal(cl)
	if err != nil {
		tb.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestValidateRejects feeds forged and broken tokens; each must fail with
// the right sentinel error and never panic.
func TestValidateRejects(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pinned := jwk("pinned", &keyB().PublicKey)
	pinned["alg"] = "PS256"
	iss.publish(
		jwk("a", &keyA().PublicKey),
		pinned,
		map[string]any{"kty": "EC", "kid": "ec", "crv": "P-256", "use": "sig",
			"x": b64(ecKey.X.FillBytes(make([]byte, 32))), "y": b64(ecKey.Y.FillBytes(make([]byte, 32)))},
	)
	clock := newFakeClock()
	now := clock.Now()
	v := newTestValidator(t, iss, clock)

	good := signRS256(t, keyA(), header("a"), claims(iss.URL, now))
	parts := strings.Split(good, ".")
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&keyA().PublicKey))})

	withClaim := func(name string, value any) map[string]any {
		c := claims(iss.URL, now)
		if value == nil {
			delete(c, name)
		} else {
			c[name] = value
		}
		return c
	}
	withHeader := func(name string, value any) map[string]any {
		h := header("a")
		if value == nil {
			delete(h, name)
		} else {
			h[name] = value
		}
		return h
	}
	hs256 := func(hdr, cl any) string {
		input := signingInput(t, hdr, cl)
		mac := hmac.New(sha256.New, pubPEM)
		mac.Write([]byte(input))
		return input + "." + b64(mac.Sum(nil))
	}
	es256 := func(hdr, cl any) string {
		input := signingInput(t, hdr, cl)
		sum := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, ecKey, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return input + "." + b64(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
	}
	flipLastBits := func(s string) string {
		// Same decoded bytes, different (non-canonical) encoding.
		last := s[len(s)-1]
		v, _ := base64URLValue(last)
		return s[:len(s)-1] + string(base64Alphabet[v|1])
	}

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty string", "", ErrMalformed},
		{"garbage", "not a token at all", ErrMalformed},
		{"one part", parts[0], ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed},
		{"four parts", good + ".x", ErrMalformed},
		{"truncated JWS", good[:len(good)/2], ErrMalformed},
		{"truncated signature", good[:len(good)-10], ErrInvalidSignature},
		{"truncated to header", parts[0] + "..", ErrMalformed},
		{"non-canonical base64", parts[0] + "." + parts[1] + "." + flipLastBits(parts[2]), ErrMalformed},
		{"padded base64", good + "==", ErrMalformed},
		{"not base64", parts[0] + "." + parts[1] + ".!!!!", ErrMalformed},
		{"space in token", parts[0] + " ." + parts[1] + "." + parts[2], ErrMalformed},
		{"embedded newline", parts[0] + "\n." + parts[1] + "." + parts[2], ErrMalformed},
		{"embedded CR", parts[0] + "." + parts[1][:4] + "\r" + parts[1][4:] + "." + parts[2], ErrMalformed},
		{"64 KiB token", parts[0] + "." + strings.Repeat("A", 64<<10) + "." + parts[2], ErrMalformed},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, ErrMalformed},
		{"header not JSON", b64([]byte("nope")) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"alg none", signingInput(t, withHeader("alg", "none"), claims(iss.URL, now)) + ".", ErrAlgorithm},
		{"alg none with signature", signingInput(t, withHeader("alg", "none"), claims(iss.URL, now)) + "." + parts[2], ErrAlgorithm},
		{"HS256 keyed with the RSA public key", hs256(withHeader("alg", "HS256"), claims(iss.URL, now)), ErrAlgorithm},
		{"alg missing", signRS256(t, keyA(), withHeader("alg", nil), claims(iss.URL, now)), ErrAlgorithm},
		{"ES256 with the EC key", es256(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "ec"}, claims(iss.URL, now)), ErrAlgorithm},
		{"RS256 naming the EC key", signRS256(t, attackerKey(), withHeader("kid", "ec"), claims(iss.URL, now)), ErrUnknownKey},
		{"RS256 with a key pinned to PS256", signRS256(t, keyB(), withHeader("kid", "pinned"), claims(iss.URL, now)), ErrAlgorithm},
		{"kid missing", signRS256(t, keyA(), withHeader("kid", nil), claims(iss.URL, now)), ErrMalformed},
		{"kid not a string", signRS256(t, keyA(), withHeader("kid", 7), claims(iss.URL, now)), ErrMalformed},
		{"typ JWT", signRS256(t, keyA(), withHeader("typ", "JWT"), claims(iss.URL, now)), ErrType},
		{"typ missing", signRS256(t, keyA(), withHeader("typ", nil), claims(iss.URL, now)), ErrType},
		{"typ not a string", signRS256(t, keyA(), withHeader("typ", 1), claims(iss.URL, now)), ErrType},
		{"unknown kid", signRS256(t, attackerKey(), withHeader("kid", "evil"), claims(iss.URL, now)), ErrUnknownKey},
		{"known kid, other key", signRS256(t, attackerKey(), header("a"), claims(iss.URL, now)), ErrInvalidSignature},
		{"payload swapped", parts[0] + "." + b64(must(jsonMarshal(withClaim("sub", "admin")))) + "." + parts[2], ErrInvalidSignature},
		{"empty signature", parts[0] + "." + parts[1] + ".", ErrInvalidSignature},
		{"critical header", signRS256(t, keyA(), withHeader("crit", []string{"exp"}), claims(iss.URL, now)), ErrMalformed},
		{"claims not an object", signRS256(t, keyA(), header("a"), []string{"iss"}), ErrMalformed},
		{"sub wrong type", signRS256(t, keyA(), header("a"), withClaim("sub", 42)), ErrMalformed},
		{"exp as string", signRS256(t, keyA(), header("a"), withClaim("exp", "tomorrow")), ErrMalformed},
		{"exp negative", signRS256(t, keyA(), header("a"), withClaim("exp", -1)), ErrMalformed},
		{"exp huge", signRS256(t, keyA(), header("a"), withClaim("exp", 1e300)), ErrMalformed},
		{"aud wrong type", signRS256(t, keyA(), header("a"), withClaim("aud", 5)), ErrMalformed},
		{"roles wrong type", signRS256(t, keyA(), header("a"), withClaim("roles", "admin")), ErrMalformed},
		{"wrong iss", signRS256(t, keyA(), header("a"), withClaim("iss", "https://evil.example")), ErrIssuer},
		{"iss with trailing slash", signRS256(t, keyA(), header("a"), withClaim("iss", iss.URL+"/")), ErrIssuer},
		{"iss missing", signRS256(t, keyA(), header("a"), withClaim("iss", nil)), ErrIssuer},
		{"wrong aud", signRS256(t, keyA(), header("a"), withClaim("aud", "billing-api")), ErrAudience},
		{"wrong aud array", signRS256(t, keyA(), header("a"), withClaim("aud", []string{"a", "b"})), ErrAudience},
		{"aud missing", signRS256(t, keyA(), header("a"), withClaim("aud", nil)), ErrAudience},
		{"sub missing", signRS256(t, keyA(), header("a"), withClaim("sub", nil)), ErrMalformed},
		{"exp missing", signRS256(t, keyA(), header("a"), withClaim("exp", nil)), ErrMalformed},
		{"exp null", signRS256(t, keyA(), header("a"), withClaim("exp", jsonNull{})), ErrMalformed},
		{"iat missing", signRS256(t, keyA(), header("a"), withClaim("iat", nil)), ErrMalformed},
		{"expired by 1s", signRS256(t, keyA(), header("a"), withClaim("exp", now.Unix()-1)), ErrExpired},
		{"expires now", signRS256(t, keyA(), header("a"), withClaim("exp", now.Unix())), ErrExpired},
		{"nbf in the future", signRS256(t, keyA(), header("a"), withClaim("nbf", now.Unix()+1)), ErrNotYetValid},
		{"iat in the future", signRS256(t, keyA(), header("a"), withClaim("iat", now.Unix()+1)), ErrNotYetValid},
		{"expired and wrong aud", signRS256(t, keyA(), header("a"), func() map[string]any {
			c := withClaim("exp", now.Unix()-1)
			c["aud"] = "other"
			return c
		}()), ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := v.Validate(context.Background(), tt.token)
			if err == nil {
				t.Fatalf("Validate accepted the token: %+v", c)
			}
			if c != nil {
				t.Errorf("Validate returned claims with error %v", err)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
			if errors.Is(tt.want, ErrUnknownKey) && !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("unknown-key error %v does not match ErrInvalidSignature", err)
			}
			if !errors.Is(tt.want, ErrExpired) && errors.Is(err, ErrExpired) {
				t.Errorf("error %v matches ErrExpired", err)
			}
			checkErrorShape(t, err)
		})
	}
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// jsonNull marshals as JSON null.
type jsonNull struct{}

func (jsonNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestLeeway(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	clock := newFakeClock()
	now := clock.Now()
	strict := newTestValidator(t, iss, clock)
	lenient := newTestValidator(t, iss, clock, Leeway(5*time.Second))

	at := func(name string, offset int64) string {
		c := claims(iss.URL, now)
		c[name] = now.Unix() + offset
		return signRS256(t, keyA(), header("a"), c)
	}
	tests := []struct {
		name        string
		token       string
		strict, len error
	}{
		{"exp in 1s", at("exp", 1), nil, nil},
		{"exp now", at("exp", 0), ErrExpired, nil},
		{"exp 4s ago", at("exp", -4), ErrExpired, nil},
		{"exp 5s ago", at("exp", -5), ErrExpired, ErrExpired},
		{"nbf now", at("nbf", 0), nil, nil},
		{"nbf in 5s", at("nbf", 5), ErrNotYetValid, nil},
		{"nbf in 6s", at("nbf", 6), ErrNotYetValid, ErrNotYetValid},
		{"iat in 5s", at("iat", 5), ErrNotYetValid, nil},
		{"iat in 6s", at("iat", 6), ErrNotYetValid, ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range []struct {
				v    *Validator
				want error
			}{{strict, tt.strict}, {lenient, tt.len}} {
				_, err := c.v.Validate(context.Background(), tt.token)
				if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
					t.Errorf("leeway %v: error = %v, want %v", c.v.leeway, err, c.want)
				}
			}
		})
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	tests := []struct {
		name    string
		issuer  string
		opts    []Option
		wantErr string
	}{
		{"no audience", iss.URL, nil, "Audience option is required"},
		{"audience and skip", iss.URL, []Option{Audience("x"), SkipAudienceCheck()}, "mutually exclusive"},
		{"empty audience", iss.URL, []Option{Audience("")}, "empty audience"},
		{"alg none", iss.URL, []Option{Audience("x"), Algorithms("none")}, `"none" is not allowed`},
		{"alg HS256", iss.URL, []Option{Audience("x"), Algorithms("RS256", "HS256")}, `"HS256" is not allowed`},
		{"alg ES256", iss.URL, []Option{Audience("x"), Algorithms("ES256")}, `"ES256" is not allowed`},
		{"no algs", iss.URL, []Option{Audience("x"), Algorithms()}, "no algorithms"},
		{"negative leeway", iss.URL, []Option{Audience("x"), Leeway(-time.Second)}, "negative leeway"},
		{"negative interval", iss.URL, []Option{Audience("x"), MinRefetchInterval(-1)}, "negative refetch"},
		{"nil client", iss.URL, []Option{Audience("x"), HTTPClient(nil)}, "nil HTTP client"},
		{"nil clock", iss.URL, []Option{Audience("x"), Clock(nil)}, "nil clock"},
		{"bad realm", iss.URL, []Option{Audience("x"), Realm(`a"b`)}, "realm"},
		{"bad scope", iss.URL, []Option{Audience("x"), RequiredScopes("a\x00")}, "invalid scope"},
		{"bad JWKS URL", iss.URL, []Option{Audience("x"), JWKSURL("file:///etc/passwd")}, "JWKS URL"},
		{"issuer not a URL", "auth.example", []Option{Audience("x")}, "issuer URL"},
		{"issuer with query", iss.URL + "?x=1", []Option{Audience("x")}, "query"},
		{"issuer mismatch", iss.URL + "/", []Option{Audience("x")}, "issuer metadata names issuer"},
		{"no discovery", iss.URL + "/nothing", []Option{Audience("x")}, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := New(context.Background(), tt.issuer, tt.opts...)
			if err == nil {
				t.Fatalf("New succeeded: %+v", v)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewKeySetFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(*testIssuer)
	}{
		{"status 500", func(iss *testIssuer) { iss.status = http.StatusInternalServerError }},
		{"bad JSON", func(iss *testIssuer) { iss.jwks = []byte("{") }},
		{"empty set", func(iss *testIssuer) { iss.jwks = []byte(`{"keys":[]}`) }},
		{"hang-up", func(iss *testIssuer) { iss.hangup = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			iss := newTestIssuer(t)
			iss.set(tt.setup)
			if _, err := New(context.Background(), iss.URL, Audience("x")); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestDiscoveryFallbackAndJWKSURL(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	clock := newFakeClock()
	tok := signRS256(t, keyA(), header("a"), claims(iss.URL, clock.Now()))

	// An issuer that only serves RFC 8414 metadata.
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"issuer":"http://` + r.Host + `","jwks_uri":"` + iss.URL + `/jwks"}`))
	})
	rfc8414 := httptestServer(t, mux)
	v, err := New(context.Background(), rfc8414, Audience(testAudience), Clock(clock.Now))
	if err != nil {
		t.Fatalf("New with RFC 8414 metadata: %v", err)
	}
	if _, err := v.Validate(context.Background(), tok); !errors.Is(err, ErrIssuer) {
		t.Errorf("token of another issuer: error = %v, want ErrIssuer", err)
	}

	// Skipping discovery.
	v, err = New(context.Background(), iss.URL, Audience(testAudience), Clock(clock.Now), JWKSURL(iss.URL+"/jwks"))
	if err != nil {
		t.Fatalf("New with JWKSURL: %v", err)
	}
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Errorf("Validate: %v", err)
	}

	// SkipAudienceCheck.
	v, err = New(context.Background(), iss.URL, SkipAudienceCheck(), Clock(clock.Now))
	if err != nil {
		t.Fatalf("New with SkipAudienceCheck: %v", err)
	}
	c := claims(iss.URL, clock.Now())
	c["aud"] = "anything"
	if _, err := v.Validate(context.Background(), signRS256(t, keyA(), header("a"), c)); err != nil {
		t.Errorf("Validate without audience check: %v", err)
	}
}

func TestWellKnownURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		issuer string
		want   []string
	}{
		{"https://auth.example", []string{
			"https://auth.example/.well-known/openid-configuration",
			"https://auth.example/.well-known/oauth-authorization-server",
		}},
		{"https://auth.example/tenant/", []string{
			"https://auth.example/tenant/.well-known/openid-configuration",
			"https://auth.example/.well-known/oauth-authorization-server/tenant",
		}},
	}
	for _, tt := range tests {
		if got := wellKnownURLs(tt.issuer); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("wellKnownURLs(%q) = %q, want %q", tt.issuer, got, tt.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{`say "hi" \ bye`, `say 'hi' / bye`},
		{"line\r\nbreak\x00", "line??break?"},
		{"ünï", "??n??"},
		{strings.Repeat("x", 500), strings.Repeat("x", maxDescriptionLen)},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRequireScopes(t *testing.T) {
	t.Parallel()
	c := &Claims{Scopes: []string{"a", "b"}}
	if err := c.RequireScopes("a", "b"); err != nil {
		t.Errorf("RequireScopes(a, b) = %v", err)
	}
	err := c.RequireScopes("a", "c", "d")
	if !errors.Is(err, ErrInsufficientScope) || !strings.Contains(err.Error(), "c d") {
		t.Errorf("RequireScopes(a, c, d) = %v, want insufficient scope naming c d", err)
	}
}
