package resource

import (
	"context"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// BenchmarkValidate measures a full validation of a typical token: syntax
// checks, go-jose parsing, key lookup, RS256 verification, claim decoding
// and checks.
func BenchmarkValidate(b *testing.B) {
	iss := newTestIssuer(b)
	clock := newFakeClock()
	v := newTestValidator(b, iss, clock)
	tok := signRS256(b, keyA(), header("a"), claims(iss.URL, clock.Now()))
	if _, err := v.Validate(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Validate(ctx, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGoJoseVerify is the baseline for BenchmarkValidate: go-jose
// parsing and signature verification of the same token with the key at
// hand, and nothing else.
func BenchmarkGoJoseVerify(b *testing.B) {
	iss := newTestIssuer(b)
	clock := newFakeClock()
	tok := signRS256(b, keyA(), header("a"), claims(iss.URL, clock.Now()))
	pub := &keyA().PublicKey
	algs := []jose.SignatureAlgorithm{jose.RS256}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			jws, err := jose.ParseSignedCompact(tok, algs)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := jws.Verify(pub); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
