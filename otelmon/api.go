package otelmon

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// API paths.
const (
	apiPrefix = "/api/v3/monitoring/"
	// maxBodyBytes bounds request bodies; larger ones get 413.
	maxBodyBytes = 64 << 10
	// maxPathParam bounds a path parameter (alert id, service name).
	maxPathParam = 256
)

// Error codes of the API's JSON errors ({"error": "...", "code": "..."}).
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthorized     = "unauthorized"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeTooLarge         = "request_too_large"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal_error"
)

// apiError is the body of every error the API returns.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = jsonEncoder(w).Encode(v)
}

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	return enc
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: msg, Code: code})
}

// generateAPIKey returns 32 random hex digits, as Radarr's keys look.
func generateAPIKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("otelmon: generate API key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// authorized reports whether r carries the API key, in the X-Api-Key header
// or the apikey query parameter, compared in constant time.
func (m *Monitor) authorized(r *http.Request) bool {
	got := r.Header.Get("X-Api-Key")
	if got == "" {
		got = r.URL.Query().Get("apikey")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(m.apiKey)) == 1
}

// route is one API endpoint: a path pattern of literal segments and
// {params}, and the handler per method.
type route struct {
	segments []string
	methods  map[string]func(w http.ResponseWriter, r *http.Request, params map[string]string)
}

func newRoute(pattern string) *route {
	return &route{segments: strings.Split(strings.Trim(pattern, "/"), "/"), methods: map[string]func(http.ResponseWriter, *http.Request, map[string]string){}}
}

// match returns the path parameters if path matches the route.
func (rt *route) match(parts []string) (map[string]string, bool) {
	if len(parts) != len(rt.segments) {
		return nil, false
	}
	var params map[string]string
	for i, seg := range rt.segments {
		if strings.HasPrefix(seg, "{") {
			if params == nil {
				params = map[string]string{}
			}
			params[strings.Trim(seg, "{}")] = parts[i]
			continue
		}
		if seg != parts[i] {
			return nil, false
		}
	}
	return params, true
}

// apiHandler serves /api/v3/monitoring/*: it authenticates, matches a route,
// checks the method and validates path parameters before any handler runs.
type apiHandler struct {
	m      *Monitor
	routes []*route
}

func (h *apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.m.authorized(r) {
		writeError(w, http.StatusUnauthorized, CodeUnauthorized, "missing or wrong API key (X-Api-Key header or apikey query parameter)")
		return
	}
	parts, err := splitPath(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	for _, rt := range h.routes {
		params, ok := rt.match(parts)
		if !ok {
			continue
		}
		fn, ok := rt.methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			fn, ok = rt.methods[http.MethodGet] // net/http drops the body
		}
		if !ok {
			allow := make([]string, 0, len(rt.methods))
			for m := range rt.methods {
				allow = append(allow, m)
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method "+r.Method+" not allowed here")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		fn(w, r, params)
		return
	}
	writeError(w, http.StatusNotFound, CodeNotFound, "no such endpoint")
}

// splitPath returns the segments of the request path, unescaped, and
// rejects what no route can mean: empty, dot or over-long segments, NUL and
// other control bytes, invalid UTF-8.
func splitPath(r *http.Request) ([]string, error) {
	raw := r.URL.EscapedPath()
	raw = strings.Trim(raw, "/")
	var parts []string
	for _, esc := range strings.Split(raw, "/") {
		seg, err := pathUnescape(esc)
		if err != nil {
			return nil, err
		}
		parts = append(parts, seg)
	}
	return parts, nil
}

var errBadPath = errors.New("invalid path")

func pathUnescape(esc string) (string, error) {
	seg, err := url.PathUnescape(esc)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: bad escape", errBadPath)
	case seg == "", seg == ".", seg == "..":
		return "", fmt.Errorf("%w: empty or dot segment", errBadPath)
	case len(seg) > maxPathParam:
		return "", fmt.Errorf("%w: segment longer than %d bytes", errBadPath, maxPathParam)
	case !utf8.ValidString(seg):
		return "", fmt.Errorf("%w: not UTF-8", errBadPath)
	case strings.ContainsAny(seg, "/\\"):
		return "", fmt.Errorf("%w: slash in segment", errBadPath)
	}
	for _, c := range seg {
		if c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("%w: control character", errBadPath)
		}
	}
	return seg, nil
}

// decodeBody decodes an optional JSON body into v. An empty body leaves v
// alone. Oversized bodies give 413, malformed ones 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// Nothing but whitespace may follow the value.
		if _, err = dec.Token(); errors.Is(err, io.EOF) {
			return true
		}
		if err == nil {
			err = errors.New("body holds more than one JSON value")
		}
	} else if errors.Is(err, io.EOF) {
		return true // no body
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("body larger than %d bytes", maxBodyBytes))
		return false
	}
	writeError(w, http.StatusBadRequest, CodeBadRequest, "malformed JSON body")
	return false
}
