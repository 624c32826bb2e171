package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"
)

// requestData is the serialized form of a fosite request stored with each
// token. The client is stored by id and loaded (cached) on read.
type requestData struct {
	ID                string     `json:"id"`
	RequestedAt       time.Time  `json:"requested_at"`
	ClientID          string     `json:"client_id"`
	RequestedScopes   []string   `json:"requested_scopes,omitempty"`
	GrantedScopes     []string   `json:"granted_scopes,omitempty"`
	RequestedAudience []string   `json:"requested_audience,omitempty"`
	GrantedAudience   []string   `json:"granted_audience,omitempty"`
	Form              url.Values `json:"form,omitempty"`
	Session           *Session   `json:"session"`
}

// encodeRequest serializes r; only our own Session type is stored.
func encodeRequest(r fosite.Requester) ([]byte, *Session, error) {
	sess, ok := r.GetSession().(*Session)
	if !ok {
		return nil, nil, fmt.Errorf("encode request: session has type %T, want *storage.Session", r.GetSession())
	}
	d := requestData{
		ID:                r.GetID(),
		RequestedAt:       r.GetRequestedAt(),
		ClientID:          r.GetClient().GetID(),
		RequestedScopes:   r.GetRequestedScopes(),
		GrantedScopes:     r.GetGrantedScopes(),
		RequestedAudience: r.GetRequestedAudience(),
		GrantedAudience:   r.GetGrantedAudience(),
		Form:              sanitizeForm(r.GetRequestForm()),
		Session:           sess,
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, nil, fmt.Errorf("encode request: %w", err)
	}
	return b, sess, nil
}

// keptFormValues are the only request parameters worth storing; secrets
// (password, client_secret, code_verifier, refresh_token) never are.
var keptFormValues = []string{"nonce", "redirect_uri", "response_type", "state", "code_challenge", "code_challenge_method", "prompt", "max_age", "acr_values", "claims"}

func sanitizeForm(f url.Values) url.Values {
	out := url.Values{}
	for _, k := range keptFormValues {
		if v, ok := f[k]; ok {
			out[k] = v
		}
	}
	return out
}

// decodeRequest rebuilds a fosite request from stored bytes. The session is
// decoded into into when it is a *Session (fosite passes the session the
// caller prepared), else into a new one.
func (f *Fosite) decodeRequest(ctx context.Context, b []byte, into fosite.Session) (*fosite.Request, error) {
	sess, ok := into.(*Session)
	if !ok || sess == nil {
		sess = NewSession()
	}
	d := requestData{Session: sess}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("decode stored request: %w", err)
	}
	client, err := f.GetClient(ctx, d.ClientID)
	if err != nil {
		return nil, fmt.Errorf("load client %q of stored request: %w", d.ClientID, err)
	}
	if d.Form == nil {
		d.Form = url.Values{}
	}
	return &fosite.Request{
		ID:                d.ID,
		RequestedAt:       d.RequestedAt,
		Client:            client,
		RequestedScope:    d.RequestedScopes,
		GrantedScope:      d.GrantedScopes,
		RequestedAudience: d.RequestedAudience,
		GrantedAudience:   d.GrantedAudience,
		Form:              d.Form,
		Session:           sess,
	}, nil
}
