package passwords

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// Hasher hashes and verifies passwords with a bounded number of argon2id
// computations in flight. It is safe for concurrent use.
type Hasher struct {
	params Params
	slots  chan struct{}

	dummyOnce sync.Once
	dummy     decoded

	// OnVerify, when set, is called once for every real password
	// verification; metrics and tests count verifications through it.
	OnVerify func()
}

// New returns a Hasher that runs at most inFlight hashes at once; zero means
// the number of CPUs, which keeps memory bounded and CPU saturated.
func New(p Params, inFlight int) *Hasher {
	if inFlight <= 0 {
		inFlight = runtime.GOMAXPROCS(0)
	}
	return &Hasher{params: p, slots: make(chan struct{}, inFlight)}
}

// acquire waits for a hashing slot or for ctx to end.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for a password hashing slot: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return encode([]byte(password), h.params)
}

// Verify reports whether password matches the PHC string encoded: nil on a
// match, ErrMismatch otherwise, ErrMalformedHash for a broken hash, or the
// context's error if no slot became free in time.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) error {
	d, err := decode(encoded)
	if err != nil {
		return err
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	if h.OnVerify != nil {
		h.OnVerify()
	}
	return d.compare([]byte(password))
}

// VerifyDummy spends the same time as a real verification against a hash
// that matches nothing. Call it for an unknown user so that response time
// does not reveal whether a username exists.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	h.dummyOnce.Do(func() {
		enc, err := encode([]byte("qazauth-dummy-password"), h.params)
		if err != nil {
			return
		}
		h.dummy, _ = decode(enc)
	})
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	if h.OnVerify != nil {
		h.OnVerify()
	}
	if h.dummy.key == nil {
		return ErrMismatch
	}
	_ = h.dummy.compare([]byte(password))
	return ErrMismatch
}
