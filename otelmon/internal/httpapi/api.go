// Package httpapi serves the Monitor's HTTP API (/api/v3/monitoring/...),
// its status page (one embedded file) and /metrics, under any prefix. It
// reads the Monitor through Backend and the alert engine, and knows nothing
// else of it; otelmon.Monitor.Handler documents what it serves.
package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// API paths.
const (
	apiPrefix = "/api/v3/monitoring/"
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes = 64 << 10
	// maxPathParam bounds a path segment (alert id, service name).
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
	// CodeUnsupportedMediaType answers a body that is not JSON (415).
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal_error"
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

// Error answers with the API's JSON error {"error": msg, "code": code},
// for handlers outside this package that answer as the API does.
func Error(w http.ResponseWriter, status int, code, msg string) { writeError(w, status, code, msg) }

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: msg, Code: code})
}

// authorized reports whether r carries the API key, compared in constant
// time: in the X-Api-Key header or, for GET and HEAD only, the apikey query
// parameter. A mutation takes the key only from the header, which a
// cross-site form cannot set.
func (a *api) authorized(r *http.Request) bool {
	got := r.Header.Get("X-Api-Key")
	if got == "" && safeMethod(r.Method) {
		got = r.URL.Query().Get("apikey")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(a.cfg.APIKey)) == 1
}

// safeMethod reports whether method only reads.
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

// requireAPIKey answers 401 with msg to requests without the API key and
// passes the others to next.
func (a *api) requireAPIKey(msg string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.authorized(r) {
			why := msg
			if !safeMethod(r.Method) && r.Header.Get("X-Api-Key") == "" && r.URL.Query().Has("apikey") {
				why = "send the API key in the X-Api-Key header: only GET takes it from the query"
			}
			writeError(w, http.StatusUnauthorized, CodeUnauthorized, why)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireJSON answers 415 to a request whose body is not JSON: one with a
// Content-Type other than application/json, with charset utf-8 or none. A
// body without a Content-Type is taken as JSON.
func requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "" && hasBody(r) && !isJSON(ct) {
			writeError(w, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
				"body must be JSON (Content-Type: application/json)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isJSON reports whether the Content-Type ct is application/json with
// charset utf-8 or none.
func isJSON(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// isAPIPath reports whether p is under the /api/v3 monitoring prefix.
func isAPIPath(p string) bool {
	return strings.HasPrefix(p, apiPrefix) || p == strings.TrimSuffix(apiPrefix, "/")
}

// guardAPI runs before routing on every request under the API prefix: it
// authenticates, rejects with 400 a path that no route can mean (see
// checkPath) before ServeMux would clean or redirect it, drops trailing
// slashes, and bounds the body to MaxBodyBytes. Other requests pass as they
// are.
func (a *api) guardAPI(next http.Handler) http.Handler {
	auth := a.requireAPIKey("missing or wrong API key (X-Api-Key header; apikey query parameter for GET)",
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := checkPath(r.URL.EscapedPath()); err != nil {
				writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
				return
			}
			r = trimTrailingSlash(r)
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
			next.ServeHTTP(w, r)
		}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPIPath(r.URL.Path) {
			auth.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkPath rejects an escaped path with a segment that no route can mean:
// empty, dot or over-long segments, NUL and other control bytes, invalid
// UTF-8, escaped slashes. Leading and trailing slashes are allowed.
func checkPath(escaped string) error {
	for esc := range strings.SplitSeq(strings.Trim(escaped, "/"), "/") {
		if _, err := pathUnescape(esc); err != nil {
			return err
		}
	}
	return nil
}

// trimTrailingSlash returns r with the trailing slashes of its path removed
// (a copy; r itself is not changed), so /status/ routes as /status does.
func trimTrailingSlash(r *http.Request) *http.Request {
	p := strings.TrimRight(r.URL.Path, "/")
	if p == r.URL.Path || p == "" {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path = p
	r2.URL.RawPath = strings.TrimRight(r.URL.RawPath, "/")
	return r2
}

// jsonMux is an http.ServeMux whose own answers (no pattern matches, a
// method the pattern does not allow, a path it would clean and redirect)
// are the API's JSON errors: 405 with the Allow header ServeMux computed,
// 404 for the rest. Handlers are registered with handle.
type jsonMux struct{ mux *http.ServeMux }

func newJSONMux() jsonMux { return jsonMux{mux: http.NewServeMux()} }

// handle registers h for pattern (ServeMux syntax: "GET /path/{name}").
func (j jsonMux) handle(pattern string, h http.Handler) {
	j.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := w.(*unroutedWriter); ok {
			w = u.ResponseWriter // matched: h answers itself
		}
		h.ServeHTTP(w, r)
	}))
}

func (j jsonMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	j.mux.ServeHTTP(&unroutedWriter{ResponseWriter: w, method: r.Method}, r)
}

// unroutedWriter receives only what ServeMux writes itself, when no
// registered handler takes the request, and answers in JSON instead.
type unroutedWriter struct {
	http.ResponseWriter
	method string
	header http.Header // ServeMux's own headers; only Allow is kept
	wrote  bool
}

func (u *unroutedWriter) Header() http.Header {
	if u.header == nil {
		u.header = http.Header{}
	}
	return u.header
}

func (u *unroutedWriter) WriteHeader(code int) {
	if u.wrote {
		return
	}
	u.wrote = true
	if code == http.StatusMethodNotAllowed {
		u.ResponseWriter.Header().Set("Allow", u.header.Get("Allow"))
		writeError(u.ResponseWriter, code, CodeMethodNotAllowed, "method "+u.method+" not allowed here")
		return
	}
	writeError(u.ResponseWriter, http.StatusNotFound, CodeNotFound, "no such endpoint")
}

func (u *unroutedWriter) Write(b []byte) (int, error) {
	u.WriteHeader(http.StatusOK)
	return len(b), nil // ServeMux's plain-text body is replaced
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
		writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("body larger than %d bytes", MaxBodyBytes))
		return false
	}
	writeError(w, http.StatusBadRequest, CodeBadRequest, "malformed JSON body")
	return false
}
