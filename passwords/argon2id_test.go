package passwords

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fast keeps unit tests quick; the encoding is identical to production's.
var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := New(fast, 0)
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("unexpected encoding %q", enc)
	}
	if err := h.Verify(ctx, enc, "correct horse"); err != nil {
		t.Fatalf("verify correct password: %v", err)
	}
	if err := h.Verify(ctx, enc, "wrong horse"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("verify wrong password: got %v, want ErrMismatch", err)
	}
	enc2, _ := h.Hash(ctx, "correct horse")
	if enc == enc2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyKnownVector(t *testing.T) {
	t.Parallel()
	// Produced by the reference argon2 CLI: echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -l 32 -e
	const enc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	h := New(DefaultParams, 1)
	if err := h.Verify(context.Background(), enc, "password"); err != nil {
		t.Fatalf("reference vector: %v", err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"empty":         "",
		"bcrypt":        "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":       "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"old version":   "$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"huge memory":   "$argon2id$v=19$m=99999999,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"zero time":     "$argon2id$v=19$m=64,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"bad salt":      "$argon2id$v=19$m=64,t=1,p=1$!!!$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"short key":     "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$AAAA",
		"unknown param": "$argon2id$v=19$m=64,t=1,x=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"missing part":  "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ",
	}
	h := New(fast, 1)
	for name, enc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if Valid(enc) {
				t.Fatalf("Valid(%q) = true", enc)
			}
			if err := h.Verify(context.Background(), enc, "x"); !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify: got %v, want ErrMalformedHash", err)
			}
		})
	}
}

func TestVerifyDummyNeverMatches(t *testing.T) {
	t.Parallel()
	h := New(fast, 1)
	var n atomic.Int32
	h.OnVerify = func() { n.Add(1) }
	for _, pw := range []string{"", "qazauth-dummy-password", "x"} {
		if err := h.VerifyDummy(context.Background(), pw); !errors.Is(err, ErrMismatch) {
			t.Fatalf("VerifyDummy(%q) = %v", pw, err)
		}
	}
	if n.Load() != 3 {
		t.Fatalf("OnVerify called %d times, want 3", n.Load())
	}
}

func TestInFlightBound(t *testing.T) {
	t.Parallel()
	h := New(fast, 2)
	enc, _ := h.Hash(context.Background(), "pw")
	var cur, peak atomic.Int32
	h.OnVerify = func() {
		c := cur.Add(1)
		for {
			p := peak.Load()
			if c <= p || peak.CompareAndSwap(p, c) {
				break
			}
		}
		cur.Add(-1)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = h.Verify(context.Background(), enc, "pw")
		}()
	}
	wg.Wait()
	if peak.Load() > 2 {
		t.Fatalf("%d verifications ran at once, bound is 2", peak.Load())
	}
}

func TestAcquireHonoursContext(t *testing.T) {
	t.Parallel()
	h := New(fast, 1)
	h.slots <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with cancelled ctx = %v", err)
	}
}

// BenchmarkArgon2id is the ceiling for the password grant: hashes/s with
// production parameters, in parallel.
func BenchmarkArgon2id(b *testing.B) {
	h := New(DefaultParams, 0)
	enc, _ := h.Hash(context.Background(), "correct horse")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := h.Verify(context.Background(), enc, "correct horse"); err != nil {
				b.Error(err)
			}
		}
	})
}

func TestClientSecretsCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := New(fast, 1)
	var n atomic.Int32
	h.OnVerify = func() { n.Add(1) }
	enc, _ := h.Hash(ctx, "s3cret")
	c := NewClientSecrets(h, time.Minute)
	for range 3 {
		if err := c.Compare(ctx, []byte(enc), []byte("s3cret")); err != nil {
			t.Fatal(err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("%d argon2id verifications for 3 checks of one secret, want 1", n.Load())
	}
	if err := c.Compare(ctx, []byte(enc), []byte("wrong")); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong secret after cached success: %v", err)
	}
	if err := c.Compare(ctx, nil, []byte("")); !errors.Is(err, ErrMismatch) {
		t.Fatalf("empty hash: %v", err)
	}
	// Expiry forces a real verification again.
	c.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	before := n.Load()
	if err := c.Compare(ctx, []byte(enc), []byte("s3cret")); err != nil || n.Load() != before+1 {
		t.Fatalf("after ttl: err=%v verifications=%d", err, n.Load()-before)
	}
}
