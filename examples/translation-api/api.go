package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/qaznat/qazauth/resource"
)

// Input limits of the translation endpoints.
const (
	maxBodyBytes    = 1 << 20  // request body
	maxSegments     = 1000     // segments per request
	maxSegmentBytes = 10 << 10 // UTF-8 bytes per segment
)

// scopeTranslate is the scope every API endpoint requires.
const scopeTranslate = "translate"

// syncWriteSlack is added to the expected duration of a synchronous
// translation when extending the connection's write deadline.
const syncWriteSlack = 30 * time.Second

// api serves the translation endpoints.
type api struct {
	jobs        *jobStore
	segmentTime time.Duration
	log         *slog.Logger
}

// segmentsRequest is the body of both POST endpoints.
type segmentsRequest struct {
	Segments []string `json:"segments"`
}

// createResponse is the body of 202 Accepted for a new job.
type createResponse struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Total  int    `json:"total"`
}

// segmentsResponse is the body of a synchronous translation.
type segmentsResponse struct {
	Segments []string `json:"segments"`
}

// errorResponse is the body of every error this service writes; it has the
// shape of the resource middleware's (RFC 6750) error bodies.
type errorResponse struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// newAPI returns the service's HTTP handler: the translation endpoints,
// each behind v's middleware requiring the translate scope, and /healthz.
// jobs runs the work; segmentTime is used to size the write deadline of
// synchronous translations. Every response, including 404 and 405, is
// JSON, and every request is logged (without its headers).
func newAPI(v *resource.Validator, segmentTime time.Duration, jobs *jobStore, log *slog.Logger) http.Handler {
	a := &api{jobs: jobs, segmentTime: segmentTime, log: log}
	auth := v.Middleware(scopeTranslate)

	mux := http.NewServeMux()
	mux.Handle("POST /api/translation/jobs", auth(http.HandlerFunc(a.createJob)))
	mux.Handle("GET /api/translation/jobs/{id}", auth(http.HandlerFunc(a.getJob)))
	mux.Handle("POST /api/translation/translate-segments", auth(http.HandlerFunc(a.translateSegments)))
	mux.HandleFunc("GET /healthz", a.healthz)
	return logRequests(log, jsonMuxErrors(mux))
}

// createJob starts a background translation job: 202 and its id.
func (a *api) createJob(w http.ResponseWriter, r *http.Request) {
	claims, ok := a.claims(w, r)
	if !ok {
		return
	}
	segments, ok := readSegments(w, r)
	if !ok {
		return
	}
	j, err := a.jobs.create(claims.Subject, segments)
	if err != nil {
		a.storeError(w, err)
		return
	}
	a.log.InfoContext(r.Context(), "job started", "job", j.ID, "owner", claims.Subject, "client_id", claims.ClientID, "segments", j.Total)
	w.Header().Set("Location", "/api/translation/jobs/"+j.ID)
	writeJSON(w, http.StatusAccepted, createResponse{ID: j.ID, Status: j.Status, Total: j.Total})
}

// getJob reports a job's progress to its owner.
func (a *api) getJob(w http.ResponseWriter, r *http.Request) {
	claims, ok := a.claims(w, r)
	if !ok {
		return
	}
	j, err := a.jobs.get(claims.Subject, r.PathValue("id"))
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// translateSegments translates synchronously; the response takes
// SegmentTime per segment.
func (a *api) translateSegments(w http.ResponseWriter, r *http.Request) {
	claims, ok := a.claims(w, r)
	if !ok {
		return
	}
	segments, ok := readSegments(w, r)
	if !ok {
		return
	}
	// The server's WriteTimeout is sized for quick requests; this one may
	// legitimately take minutes. Not every ResponseWriter supports
	// deadlines (httptest.ResponseRecorder does not); that is fine.
	expected := time.Duration(len(segments)) * a.segmentTime
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(expected + syncWriteSlack))
	a.log.InfoContext(r.Context(), "synchronous translation started", "owner", claims.Subject, "segments", len(segments), "expected", expected.String())

	out, err := a.jobs.translateNow(r.Context(), segments)
	if err != nil {
		if r.Context().Err() != nil {
			a.log.InfoContext(r.Context(), "client went away during synchronous translation", "owner", claims.Subject, "segments", len(segments))
			return
		}
		a.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, segmentsResponse{Segments: out})
}

func (a *api) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// claims returns the token's claims, which the middleware always sets.
func (a *api) claims(w http.ResponseWriter, r *http.Request) (*resource.Claims, bool) {
	c, ok := resource.ClaimsFrom(r.Context())
	if !ok || c.Subject == "" {
		a.log.ErrorContext(r.Context(), "handler reached without token claims", "path", r.URL.Path)
		writeError(w, http.StatusInternalServerError, "server_error", "")
		return nil, false
	}
	return c, true
}

// storeError maps a jobStore error to a response.
func (a *api) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such job")
	case errors.Is(err, errTooManyJobs):
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusTooManyRequests, "too_many_jobs", err.Error())
	case errors.Is(err, errClosed):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", err.Error())
	default:
		a.log.Error("job store", "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "")
	}
}

// readSegments decodes and validates a {"segments": [...]} body. On
// failure it has written a 4xx response and returns false: 415 if the
// body is not declared as JSON, 413 if it exceeds maxBodyBytes, 400 for
// anything else.
func readSegments(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "invalid_request", "Content-Type must be application/json")
		return nil, false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	var req segmentsRequest
	err := dec.Decode(&req)
	if err == nil {
		// Exactly one JSON value: anything after it is an error.
		if _, terr := dec.Token(); terr != io.EOF {
			err = errTrailingData
			var maxErr *http.MaxBytesError
			if errors.As(terr, &maxErr) {
				err = terr
			}
		}
	}
	if err != nil {
		status, desc := decodeError(err)
		writeError(w, status, "invalid_request", desc)
		return nil, false
	}
	switch {
	case req.Segments == nil:
		writeError(w, http.StatusBadRequest, "invalid_request", `"segments" is required: an array of strings`)
		return nil, false
	case len(req.Segments) == 0:
		writeError(w, http.StatusBadRequest, "invalid_request", `"segments" is empty`)
		return nil, false
	case len(req.Segments) > maxSegments:
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("%d segments, at most %d allowed", len(req.Segments), maxSegments))
		return nil, false
	}
	for i, s := range req.Segments {
		if len(s) > maxSegmentBytes {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("segment %d is %d bytes, at most %d allowed", i, len(s), maxSegmentBytes))
			return nil, false
		}
	}
	return req.Segments, true
}

var errTrailingData = errors.New("unexpected data after the JSON object")

// decodeError turns a JSON decoding error into a status and a message that
// names the problem without Go internals.
func decodeError(err error) (int, string) {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxBodyBytes)
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, "empty request body"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadRequest, "truncated JSON"
	case errors.As(err, &syntaxErr):
		return http.StatusBadRequest, fmt.Sprintf("invalid JSON at byte %d", syntaxErr.Offset)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return http.StatusBadRequest, `body must be a JSON object {"segments": [...]}`
		}
		return http.StatusBadRequest, `"segments" must be an array of strings`
	case errors.Is(err, errTrailingData):
		return http.StatusBadRequest, err.Error()
	}
	// The remaining decoder error is an unknown field: `json: unknown field "x"`.
	return http.StatusBadRequest, "invalid request body: " + strings.TrimPrefix(err.Error(), "json: ")
}

// writeJSON writes v as the JSON response. API responses are per-user and
// must not be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// An error here means the client went away.
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, errorResponse{Error: code, Description: desc})
}

// jsonMuxErrors replaces the plain-text 404 and 405 answers of mux with
// JSON ones, keeping their status and headers (Allow).
func jsonMuxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(&muxErrorWriter{ResponseWriter: w}, r)
	})
}

// muxErrorWriter rewrites the response of ServeMux's NotFound and
// MethodNotAllowed handlers.
type muxErrorWriter struct {
	http.ResponseWriter
	wrote bool
}

func (m *muxErrorWriter) WriteHeader(status int) {
	if m.wrote {
		return
	}
	m.wrote = true
	code, desc := "not_found", "no such endpoint"
	if status == http.StatusMethodNotAllowed {
		code, desc = "method_not_allowed", "method not allowed; see the Allow header"
	}
	writeError(m.ResponseWriter, status, code, desc)
}

// Write discards ServeMux's text body.
func (m *muxErrorWriter) Write(p []byte) (int, error) {
	if !m.wrote {
		m.WriteHeader(http.StatusOK)
	}
	return len(p), nil
}

// logRequests logs one line per request: method, path, status, duration.
// Headers are never logged, so neither are tokens.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		level := slog.LevelInfo
		if r.URL.Path == "/healthz" {
			level = slog.LevelDebug
		}
		log.Log(r.Context(), level, "request",
			"method", r.Method,
			"path", r.URL.Path,
			"status", sw.status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"remote", r.RemoteAddr,
		)
	})
}

// statusWriter records the response status. Unwrap keeps
// http.ResponseController (write deadlines, flushing) working through it.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(status int) {
	if !s.wroteHeader {
		s.status = status
		s.wroteHeader = true
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(p)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
