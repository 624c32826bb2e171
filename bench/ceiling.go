package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"runtime"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/qaznat/qazauth/passwords"
)

// ceilingTask is the in-process work that bounds a load from above
// (PERFORMANCE.md): the server cannot answer faster than it can do this
// one thing, so the load's rate is reported as a fraction of it.
type ceilingTask struct {
	name string       // what is counted, e.g. "go-jose RS256 compact signs"
	op   func() error // one unit of work; safe for concurrent use
}

// ceiling is a measured ceiling.
type ceiling struct {
	name    string
	procs   int // goroutines, = GOMAXPROCS
	ops     int64
	elapsed time.Duration
}

// perSecond is the ceiling's rate.
func (c *ceiling) perSecond() float64 {
	if c.elapsed <= 0 {
		return 0
	}
	return float64(c.ops) / c.elapsed.Seconds()
}

// measureCeiling runs task.op in GOMAXPROCS goroutines (what
// testing.B.RunParallel does) for d after a short warmup, and counts the
// operations completed in that window. Call it while the load is not
// running: both would share the same cores.
func measureCeiling(ctx context.Context, task *ceilingTask, warmup, d time.Duration) (*ceiling, error) {
	procs := runtime.GOMAXPROCS(0)
	ops := make([]op, procs)
	for i := range ops {
		ops[i] = func(context.Context) outcome {
			if err := task.op(); err != nil {
				return outcome{err: err}
			}
			return outcome{status: http.StatusOK}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, warmup+d+time.Minute)
	defer cancel()
	r := drive(ctx, task.name, plan{warmup: warmup, duration: d, timeout: time.Minute}, ops)
	if len(r.Errors) > 0 {
		return nil, fmt.Errorf("ceiling %s: %s", task.name, formatErrors(r.Errors))
	}
	if r.Interrupted {
		return nil, fmt.Errorf("ceiling %s: interrupted", task.name)
	}
	return &ceiling{name: task.name, procs: procs, ops: r.OK(), elapsed: r.Elapsed}, nil
}

// ceilingPayload is a typical access token's claims (RFC 9068), so the
// signature covers as many bytes as the server's.
const ceilingPayload = `{"iss":"http://127.0.0.1:8080","sub":"JNRRK6LMLL73R2KQZV7L2ARFJE","aud":"qaznat-api",` +
	`"exp":1796306946,"iat":1796306046,"jti":"QNNLRRQNZ635GCHIZLHHRNP6DS","client_id":"qaznat-mobile",` +
	`"scope":"offline_access translate","auth_time":1796306046,"preferred_username":"aigerim",` +
	`"email":"aigerim@example.kz","roles":["translator"]}`

// signTask is the ceiling of the refresh and client_credentials grants:
// one go-jose RS256 compact signature with a fresh 2048-bit key, the one
// RSA operation each token response needs.
func signTask() (*ceilingTask, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate RSA key: %w", err)
	}
	opts := (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "bench-ceiling")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	payload := []byte(ceilingPayload)
	return &ceilingTask{name: "go-jose RS256 compact signs", op: func() error {
		jws, err := signer.Sign(payload)
		if err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		if _, err := jws.CompactSerialize(); err != nil {
			return fmt.Errorf("serialize: %w", err)
		}
		return nil
	}}, nil
}

// argon2Task is the ceiling of the password grant: one argon2id
// verification (one hash) with the parameters the server uses.
func argon2Task(ctx context.Context) (*ceilingTask, error) {
	const password = "correct horse"
	h := passwords.New(passwords.DefaultParams, 0)
	encoded, err := h.Hash(ctx, password)
	if err != nil {
		return nil, fmt.Errorf("argon2id hash: %w", err)
	}
	return &ceilingTask{name: "argon2id hashes (passwords.DefaultParams)", op: func() error {
		if err := h.Verify(context.Background(), encoded, password); err != nil {
			return fmt.Errorf("argon2id verify: %w", err)
		}
		return nil
	}}, nil
}

// verifyTask is the ceiling of offline validation: go-jose RS256
// parse+verify of the same token with its public key at hand, as
// resource.BenchmarkGoJoseVerify does.
func verifyTask(token string, jwk jose.JSONWebKey) (*ceilingTask, error) {
	key, ok := jwk.Key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("JWKS key %q is %T, not an RSA public key", jwk.KeyID, jwk.Key)
	}
	if _, err := verifyOnce(token, key); err != nil {
		return nil, err
	}
	return &ceilingTask{name: "go-jose RS256 parse+verify of the same token", op: func() error {
		_, err := verifyOnce(token, key)
		return err
	}}, nil
}

// verifyOnce parses token and verifies its RS256 signature with key.
func verifyOnce(token string, key *rsa.PublicKey) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("parse token: %w", err)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	return payload, nil
}
