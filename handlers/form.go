package handlers

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
)

// parseForm reads an application/x-www-form-urlencoded body (RFC 6749 §3.2)
// of bounded size and rejects repeated parameters (RFC 6749 §3.1). It
// returns the RFC error code and description on failure.
func parseForm(w http.ResponseWriter, r *http.Request) (code, desc string, ok bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return "invalid_request", "The request body must be application/x-www-form-urlencoded.", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBodyBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "invalid_request", fmt.Sprintf("The request body exceeds %d bytes.", maxFormBodyBytes), false
		}
		return "invalid_request", "The request body is not a valid form.", false
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return "invalid_request", fmt.Sprintf("The parameter %q was sent more than once.", printable(k)), false
		}
		if len(v[0]) > maxTokenParamSize {
			return "invalid_request", fmt.Sprintf("The parameter %q is too long.", printable(k)), false
		}
	}
	for k, v := range r.URL.Query() {
		if _, inBody := r.PostForm[k]; inBody || len(v) > 1 {
			return "invalid_request", fmt.Sprintf("The parameter %q was sent more than once.", printable(k)), false
		}
	}
	return "", "", true
}

// printable shortens and sanitizes a client-supplied name for an error
// description.
func printable(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	out := make([]rune, 0, len(s))
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			c = '?'
		}
		out = append(out, c)
	}
	return string(out)
}
