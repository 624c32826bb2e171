package server

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/qaznat/qazauth/handlers"
)

// limited are the endpoints guarded per client IP, each with its own
// bucket so a flood of one cannot starve another.
var limited = map[string]bool{
	handlers.PathToken: true, handlers.PathAuthorize: true,
	handlers.PathRevoke: true, handlers.PathIntrospect: true,
}

// limiter is a token bucket per (client IP, endpoint): rate tokens per
// second, up to burst. Buckets idle long enough to be full are forgotten.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds memory under a flood of distinct addresses.
const maxBuckets = 100_000

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes a token for key, or reports how long until one is available.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.buckets = map[string]*bucket{}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops buckets that have refilled completely, once a minute.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) > full {
			delete(l.buckets, k)
		}
	}
}

// rateLimit answers 429 with Retry-After (RFC 6585 §4) once a client IP has
// spent its budget on an endpoint; API paths get an RFC 6749 JSON error.
func rateLimit(next http.Handler, l *limiter, ip func(*http.Request) string) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !limited[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait := l.allow(ip(r) + " " + r.URL.Path)
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == handlers.PathAuthorize {
			http.Error(w, "Too many requests. Try again later.", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintf(w, `{"error":"temporarily_unavailable","error_description":"Too many requests from this address; retry after %d seconds."}`+"\n", max(secs, 1))
	})
}
