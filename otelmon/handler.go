package otelmon

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"net/url"
	"path"
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
//	GET  /api/v3/monitoring/history                   history of the last 1h, 6h or 24h: ?range= (default 1h)
//	POST /api/v3/monitoring/alerts/{id}/acknowledge   {"by": "...", "comment": "..."}
//	POST /api/v3/monitoring/health/{service}/check    runs that check now
//	GET  /api/v3/monitoring/silences                  silences with their state (pending, active, expired)
//	POST /api/v3/monitoring/silences                  {"matchers": [...], "startsAt", "endsAt", "createdBy", "comment"} → 201 {"id"}
//	GET  /api/v3/monitoring/silences/{id}             one silence
//	DELETE /api/v3/monitoring/silences/{id}           expires it
//	POST /api/v3/monitoring/alerts/{id}/silence       {"duration": "2h", "comment": "..."} silences that alert's labels
//	GET  /api/v3/monitoring/maintenance-windows       configured maintenance windows, each with "active"
//
// The /api/v3 endpoints require the API key in the X-Api-Key header. GET
// and HEAD also take it from the apikey query parameter; a POST takes it
// only from the header, so that a cross-site form, which cannot set
// headers, cannot post with it (401 otherwise). A POST body, when there is
// one, must be JSON: a Content-Type other than application/json (charset
// utf-8 or none) gets 415. In an acknowledgement, by and comment must be
// UTF-8 without control characters (comment may hold tabs and newlines) or
// invisible formatting characters such as bidirectional overrides: 400
// names the field. An acknowledgement the alert state file could not take
// gets 503 and is not kept. Errors are JSON {"error": "...", "code": "..."},
// including 404 for unknown paths and 405, with an Allow header, for a
// method an endpoint does not serve; HEAD is served wherever GET is. The
// handler never panics on any input: a panic in a handler becomes a 500.
//
// A request with a body is answered with "Connection: close", and what the
// handler did not read of the body is not waited for (see Server), so a
// refused client cannot hold its connection open by trickling a body.
//
// Routing is net/http.ServeMux's. The API's path checks and authentication
// run before it, so that a path ServeMux would clean ("..", "//") is
// rejected with 400 rather than redirected. Serve it with Server, which
// sets the timeouts an exposed server needs.
//
// The handler works at the root or under any prefix, with http.StripPrefix
// and the prefix given with or without its trailing slash:
//
//	mux.Handle("/monitoring/", http.StripPrefix("/monitoring", mon.Handler()))
//
// The page reads the API by paths relative to its own, so its calls stay
// under the prefix; a request for the prefix without its trailing slash
// ("/monitoring") is redirected to the page ("/monitoring/"). A host that
// has its own /metrics or page mounts APIHandler or MetricsHandler alone.
func (m *Monitor) Handler() http.Handler { return m.handler(true) }

// APIHandler returns the /api/v3/monitoring/... endpoints of Handler alone,
// without the status page and /metrics, for a host that serves its own.
// Like Handler, it works under any prefix with http.StripPrefix.
func (m *Monitor) APIHandler() http.Handler { return m.handler(false) }

// handler builds Handler, or APIHandler when full is false.
func (m *Monitor) handler(full bool) http.Handler {
	mux := newJSONMux()
	mux.handle("GET /api/v3/monitoring/status", http.HandlerFunc(m.serveStatus))
	mux.handle("GET /api/v3/monitoring/health", http.HandlerFunc(m.serveHealth))
	mux.handle("POST /api/v3/monitoring/health/{service}/check", requireJSON(http.HandlerFunc(m.serveHealthCheck)))
	mux.handle("GET /api/v3/monitoring/alerts", http.HandlerFunc(m.serveAlerts))
	mux.handle("GET /api/v3/monitoring/history", http.HandlerFunc(m.serveHistory))
	mux.handle("POST /api/v3/monitoring/alerts/{id}/acknowledge", requireJSON(http.HandlerFunc(m.serveAcknowledge)))
	mux.handle("GET /api/v3/monitoring/silences", http.HandlerFunc(m.serveSilences))
	mux.handle("POST /api/v3/monitoring/silences", requireJSON(http.HandlerFunc(m.serveCreateSilence)))
	mux.handle("GET /api/v3/monitoring/silences/{id}", http.HandlerFunc(m.serveSilence))
	mux.handle("DELETE /api/v3/monitoring/silences/{id}", http.HandlerFunc(m.serveExpireSilence))
	mux.handle("POST /api/v3/monitoring/alerts/{id}/silence", requireJSON(http.HandlerFunc(m.serveSilenceAlert)))
	mux.handle("GET /api/v3/monitoring/maintenance-windows", http.HandlerFunc(m.serveMaintenanceWindows))
	if full {
		metrics := m.MetricsHandler()
		if m.protectMetrics {
			metrics = m.requireAPIKey("missing or wrong API key", metrics)
		}
		mux.handle("GET /{$}", http.HandlerFunc(serveStatusPage))
		mux.handle("GET /index.html", http.HandlerFunc(serveStatusPage))
		mux.handle("GET /metrics", metrics)
	}
	return rooted(closeAfterBody(recoverer(m.guardAPI(mux))))
}

// rooted lets the handler serve under a prefix that http.StripPrefix
// removed with its trailing slash ("/monitoring/" leaves "api/v3/..."), by
// giving the path back its leading slash. A request for the prefix itself
// without a trailing slash ("/monitoring", left as "") is redirected to the
// prefix with one, where the page's relative links resolve under it.
func rooted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/") {
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "" {
			// r.URL.Path is what StripPrefix left; the request's own path
			// says whether the client asked with the trailing slash.
			if orig, err := url.ParseRequestURI(r.RequestURI); err == nil && !strings.HasSuffix(orig.Path, "/") {
				target := path.Base(orig.Path) + "/"
				if r.URL.RawQuery != "" {
					target += "?" + r.URL.RawQuery
				}
				// Not http.Redirect: it would resolve target against the
				// stripped path, which has lost the prefix's parents.
				w.Header().Set("Location", target)
				w.WriteHeader(http.StatusMovedPermanently)
				return
			}
		}
		r2 := new(http.Request)
		*r2 = *r
		r2.URL = new(url.URL)
		*r2.URL = *r.URL
		r2.URL.Path = "/" + r.URL.Path
		if r.URL.RawPath != "" {
			r2.URL.RawPath = "/" + r.URL.RawPath
		}
		next.ServeHTTP(w, r2)
	})
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

func serveStatusPage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")
	_, _ = w.Write(statusPage)
}

func (m *Monitor) serveStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, m.Status())
}

// healthResponse is the plain JSON form of GET /health: the summary with
// the overall status.
type healthResponse struct {
	Status healthcheck.HealthStatus `json:"status"`
	healthcheck.Summary
}

func (m *Monitor) serveHealth(w http.ResponseWriter, r *http.Request) {
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

// serveHealthCheck runs a health check now. The check may take its whole
// timeout, plus checkQueueWait for a free check slot: the connection's
// deadlines are extended to fit (see Server), and a check that found no
// slot in time answers 503.
func (m *Monitor) serveHealthCheck(w http.ResponseWriter, r *http.Request) {
	service := r.PathValue("service")
	timeout := m.checkTimeout(service)
	extendDeadlines(w, timeout+ServerCheckSlack)
	ctx, cancel := context.WithTimeout(r.Context(), timeout+checkQueueWait)
	defer cancel()
	res, err := m.CheckHealthNow(ctx, service)
	switch {
	case errors.Is(err, healthcheck.ErrUnknownTarget):
		writeError(w, http.StatusNotFound, CodeNotFound, "no health check for that service")
		return
	case errors.Is(err, ErrShutdown):
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "monitor is shut down")
		return
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "health check did not finish in time; try again")
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
