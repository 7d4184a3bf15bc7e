package otelmon

import (
	_ "embed"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/listsync/otelmon/healthcheck"
)

//go:embed web/status.html
var statusPage []byte

// Handler returns the Monitor's HTTP API:
//
//	GET  /                                            status page (HTML; reads the API with the key)
//	GET  /metrics                                     Prometheus exposition (open unless WithProtectedMetrics)
//	GET  /api/v3/monitoring/status                    Status
//	GET  /api/v3/monitoring/alerts                    active alerts; ?level=, ?state=, ?all=true
//	GET  /api/v3/monitoring/health                    health summary; health+json on Accept
//	POST /api/v3/monitoring/alerts/{id}/acknowledge   {"by": "...", "comment": "..."}
//	POST /api/v3/monitoring/health/{service}/check    runs that check now
//
// The /api/v3 endpoints require the API key in the X-Api-Key header or the
// apikey query parameter. Errors are JSON {"error": "...", "code": "..."}.
// The handler never panics on any input: a panic in a handler becomes a 500.
func (m *Monitor) Handler() http.Handler {
	api := &apiHandler{m: m}
	add := func(pattern, method string, fn func(http.ResponseWriter, *http.Request, map[string]string)) {
		for _, rt := range api.routes {
			if strings.Join(rt.segments, "/") == strings.Trim(pattern, "/") {
				rt.methods[method] = fn
				return
			}
		}
		rt := newRoute(pattern)
		rt.methods[method] = fn
		api.routes = append(api.routes, rt)
	}
	add(apiPrefix+"status", http.MethodGet, m.serveStatus)
	add(apiPrefix+"health", http.MethodGet, m.serveHealth)
	add(apiPrefix+"health/{service}/check", http.MethodPost, m.serveHealthCheck)
	add(apiPrefix+"alerts", http.MethodGet, m.serveAlerts)
	add(apiPrefix+"alerts/{id}/acknowledge", http.MethodPost, m.serveAcknowledge)

	return recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, apiPrefix) || p == strings.TrimSuffix(apiPrefix, "/"):
			api.ServeHTTP(w, r)
		case p == "/metrics":
			m.serveMetrics(w, r)
		case p == "/" || p == "/index.html":
			serveStatusPage(w, r)
		default:
			writeError(w, http.StatusNotFound, CodeNotFound, "no such endpoint")
		}
	}))
}

// recoverer turns a handler panic into a JSON 500 instead of a dropped
// connection. http.ErrAbortHandler is re-raised, as net/http expects.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, http.StatusInternalServerError, CodeInternal, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func onlyGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method "+r.Method+" not allowed here")
	return false
}

func (m *Monitor) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !onlyGet(w, r) {
		return
	}
	if m.protectMetrics && !m.authorized(r) {
		writeError(w, http.StatusUnauthorized, CodeUnauthorized, "missing or wrong API key")
		return
	}
	h := m.MetricsHandler()
	if h == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, "metrics are not exported through Prometheus here")
		return
	}
	h.ServeHTTP(w, r)
}

func serveStatusPage(w http.ResponseWriter, r *http.Request) {
	if !onlyGet(w, r) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")
	_, _ = w.Write(statusPage)
}

func (m *Monitor) serveStatus(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	st, err := m.Status(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, CodeInternal, "status unavailable")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// healthResponse is the plain JSON form of GET /health: the summary with
// the overall status.
type healthResponse struct {
	Status healthcheck.HealthStatus `json:"status"`
	healthcheck.Summary
}

func (m *Monitor) serveHealth(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	sum := m.health.Summary() // one snapshot for status and body
	doc := sum.Health()
	if acceptsHealthJSON(r.Header.Get("Accept")) {
		healthcheck.WriteHealthJSON(w, r, doc)
		return
	}
	writeJSON(w, doc.Status.HTTPStatusCode(), healthResponse{Status: doc.Status, Summary: sum})
}

func acceptsHealthJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		if strings.EqualFold(strings.TrimSpace(mt), healthcheck.ContentTypeHealthJSON) {
			return true
		}
	}
	return false
}

// checkResult is the JSON form of a forced health check.
type checkResult struct {
	Service    string             `json:"service"`
	Status     healthcheck.Status `json:"status"`
	OK         bool               `json:"ok"`
	StatusCode int                `json:"statusCode,omitempty"`
	LatencyMs  float64            `json:"latencyMs"`
	Time       time.Time          `json:"time"`
	Error      string             `json:"error,omitempty"`
}

func (m *Monitor) serveHealthCheck(w http.ResponseWriter, r *http.Request, p map[string]string) {
	res, err := m.health.CheckNow(r.Context(), p["service"])
	switch {
	case errors.Is(err, healthcheck.ErrUnknownTarget):
		writeError(w, http.StatusNotFound, CodeNotFound, "no health check for that service")
		return
	case errors.Is(err, healthcheck.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "monitor is shut down")
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, CodeInternal, "health check could not run")
		return
	}
	out := checkResult{
		Service: res.Target, Status: res.Status, OK: res.OK, StatusCode: res.StatusCode,
		LatencyMs: float64(res.Latency.Microseconds()) / 1000, Time: res.Time.UTC(),
	}
	if res.Err != nil {
		out.Error = res.Err.Error() // redacted by healthcheck
	}
	writeJSON(w, http.StatusOK, out)
}
