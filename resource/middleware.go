package resource

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// Middleware returns net/http middleware that admits only requests bearing
// a valid access token with all of requiredScopes, plus any scopes set with
// [RequiredScopes]. Each argument may hold several space-separated scopes.
// The result is a plain func(http.Handler) http.Handler, so it fits
// http.ServeMux, gorilla/mux's Router.Use, chi and the like.
//
// The token is read from the Authorization header only (RFC 6750 §2.1, the
// "Bearer" scheme matched case-insensitively); tokens in the query string
// or form body are ignored, since URLs end up in logs. Responses follow
// RFC 6750 §3, always with Cache-Control: no-store and a small JSON body
// {"error": ..., "error_description": ...}:
//
//   - no Bearer credentials: 401 with a bare challenge,
//     WWW-Authenticate: Bearer realm="..." (no error attribute, §3.1);
//   - more than one Authorization header: 400, error="invalid_request";
//   - a token that fails [Validator.Validate]: 401, error="invalid_token"
//     and the error text as error_description; if the token's only fault
//     is that it expired, the response also carries "Token-Expired: true",
//     on which clients can key a silent refresh;
//   - a valid token lacking a scope: 403, error="insufficient_scope" and
//     scope="..." listing the scopes the resource requires.
//
// For admitted requests the claims are available to next through
// [ClaimsFrom].
func (v *Validator) Middleware(requiredScopes ...string) func(http.Handler) http.Handler {
	scopes := append([]string(nil), v.requiredScopes...)
	for _, s := range requiredScopes {
		for _, f := range strings.Fields(s) {
			if !slices.Contains(scopes, f) {
				scopes = append(scopes, f)
			}
		}
	}
	scopeAttr := strings.Join(scopes, " ")

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.Header.Values("Authorization")) > 1 {
				v.deny(w, http.StatusBadRequest, "invalid_request", "more than one Authorization header", "", false)
				return
			}
			token, ok := bearerToken(r.Header.Get("Authorization"))
			if !ok {
				v.deny(w, http.StatusUnauthorized, "", "bearer token required", "", false)
				return
			}
			claims, err := v.Validate(r.Context(), token)
			if err != nil {
				v.deny(w, http.StatusUnauthorized, "invalid_token", err.Error(), "", errors.Is(err, ErrExpired))
				return
			}
			if err := claims.RequireScopes(scopes...); err != nil {
				v.deny(w, http.StatusForbidden, "insufficient_scope", err.Error(), scopeAttr, false)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), claims)))
		})
	}
}

// bearerToken extracts the credentials of an RFC 6750 §2.1 Authorization
// header. ok is false if the header is absent or uses another scheme, which
// RFC 6750 §3.1 treats as a request without authentication information. An
// empty token after "Bearer" is returned as such and fails validation.
func bearerToken(header string) (token string, ok bool) {
	scheme, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.Trim(rest, " \t"), true
}

// deny writes an RFC 6750 §3 error response. code is the error attribute;
// when it is empty (no credentials were sent) the challenge carries no error
// attributes, as §3.1 requires, and the JSON body says "unauthorized".
func (v *Validator) deny(w http.ResponseWriter, status int, code, description, scope string, expired bool) {
	description = sanitize(description)
	scope = sanitize(scope)

	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	attr := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(value)
		b.WriteByte('"')
		sep = ", "
	}
	if v.realm != "" {
		attr("realm", v.realm)
	}
	body := errorBody{Error: code, Description: description}
	if code != "" {
		attr("error", code)
		attr("error_description", description)
		if scope != "" {
			attr("scope", scope)
			body.Scope = scope
		}
	} else {
		body.Error = "unauthorized"
	}

	h := w.Header()
	h.Set("WWW-Authenticate", b.String())
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if expired {
		h.Set("Token-Expired", "true")
	}
	w.WriteHeader(status)
	// The body is a courtesy; a failed write means the client is gone.
	_ = json.NewEncoder(w).Encode(body)
}

// errorBody is the JSON body of an error response.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Scope       string `json:"scope,omitempty"`
}
