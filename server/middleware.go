package server

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qaznat/qazauth/handlers"
)

// statusWriter records the status code for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// knownRoutes bounds the cardinality of the route label.
var knownRoutes = map[string]bool{
	handlers.PathDiscovery: true, handlers.PathASMetadata: true, handlers.PathJWKS: true,
	handlers.PathToken: true, handlers.PathRevoke: true, handlers.PathIntrospect: true,
	handlers.PathAuthorize: true, handlers.PathUserinfo: true, handlers.PathLogout: true,
	handlers.PathSessions: true, handlers.PathHealth: true, handlers.PathReady: true, "/metrics": true,
}

func route(path string) string {
	if knownRoutes[path] {
		return path
	}
	return "other"
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qazauth_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "qazauth_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe logs and measures every request. Only the path is logged: query
// strings and bodies may carry codes, tokens or passwords.
func observe(next http.Handler, log *slog.Logger, m *httpMetrics, ip func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					sw.Header().Set("Content-Type", "application/json")
					sw.WriteHeader(http.StatusInternalServerError)
					_, _ = sw.Write([]byte(`{"error":"server_error"}` + "\n"))
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			rt := route(r.URL.Path)
			d := time.Since(start)
			m.requests.WithLabelValues(rt, r.Method, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(rt).Observe(d.Seconds())
			if log.Enabled(r.Context(), slog.LevelDebug) || status >= 500 {
				log.LogAttrs(r.Context(), level(status), "http request",
					slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.Int("status", status), slog.Duration("duration", d), slog.String("ip", ip(r)))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

func level(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelDebug
}

// securityHeaders sets headers every response carries.
func securityHeaders(next http.Handler, tls bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if tls {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}
