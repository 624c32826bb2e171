package handlers

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts what an operator watches on the token endpoint. Labels
// never carry a token, username or secret.
type Metrics struct {
	TokensIssued  *prometheus.CounterVec // by grant_type
	TokenErrors   *prometheus.CounterVec // by grant_type, error
	RefreshReuses prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		TokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qazauth_tokens_issued_total", Help: "Token responses issued, by grant type.",
		}, []string{"grant_type"}),
		TokenErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qazauth_token_errors_total", Help: "Token endpoint errors, by grant type and RFC 6749 error code.",
		}, []string{"grant_type", "error"}),
		RefreshReuses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qazauth_refresh_token_reuse_total", Help: "Rotated refresh tokens presented again outside the grace window (chains revoked).",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.TokensIssued, m.TokenErrors, m.RefreshReuses} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
