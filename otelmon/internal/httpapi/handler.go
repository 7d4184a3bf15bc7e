package httpapi

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/healthcheck"
)

//go:embed web/status.html
var statusPage []byte

// Backend is what the API reads from the Monitor besides the alert engine.
type Backend interface {
	// Status is the body of GET /status.
	Status() any
	// HealthSummary is the health of every checked service.
	HealthSummary() healthcheck.Summary
	// CheckHealth runs the health check of service now.
	CheckHealth(ctx context.Context, service string) (healthcheck.Result, error)
	// CheckTimeout is the timeout of service's health check.
	CheckTimeout(service string) time.Duration
	// History is the body of GET /history for the named range ("1h",
	// "6h", "24h"); false for a name it does not know.
	History(rangeName string) (any, bool)
}

// Config is what the API serves.
type Config struct {
	Backend Backend          // required
	Alerts  *alerting.Engine // required
	// APIKey is the key the /api/v3 endpoints require.
	APIKey string
	// Metrics serves /metrics (Handler only); ProtectMetrics makes it
	// require the API key.
	Metrics        http.Handler
	ProtectMetrics bool
	// Shutdown is the error, wrapped by CheckHealth's, that means the
	// Monitor is shut down: such a check is answered 503.
	Shutdown error
}

// api serves Config.
type api struct{ cfg Config }

// Handler returns the status page, the API and /metrics, as
// otelmon.Monitor.Handler documents them.
func Handler(cfg Config) http.Handler { return (&api{cfg: cfg}).handler(true) }

// APIHandler returns the API alone, without the page and /metrics.
func APIHandler(cfg Config) http.Handler { return (&api{cfg: cfg}).handler(false) }

func (a *api) handler(full bool) http.Handler {
	mux := newJSONMux()
	mux.handle("GET /api/v3/monitoring/status", http.HandlerFunc(a.serveStatus))
	mux.handle("GET /api/v3/monitoring/health", http.HandlerFunc(a.serveHealth))
	mux.handle("POST /api/v3/monitoring/health/{service}/check", requireJSON(http.HandlerFunc(a.serveHealthCheck)))
	mux.handle("GET /api/v3/monitoring/alerts", http.HandlerFunc(a.serveAlerts))
	mux.handle("GET /api/v3/monitoring/history", http.HandlerFunc(a.serveHistory))
	mux.handle("POST /api/v3/monitoring/alerts/{id}/acknowledge", requireJSON(http.HandlerFunc(a.serveAcknowledge)))
	mux.handle("GET /api/v3/monitoring/silences", http.HandlerFunc(a.serveSilences))
	mux.handle("POST /api/v3/monitoring/silences", requireJSON(http.HandlerFunc(a.serveCreateSilence)))
	mux.handle("GET /api/v3/monitoring/silences/{id}", http.HandlerFunc(a.serveSilence))
	mux.handle("DELETE /api/v3/monitoring/silences/{id}", http.HandlerFunc(a.serveExpireSilence))
	mux.handle("POST /api/v3/monitoring/alerts/{id}/silence", requireJSON(http.HandlerFunc(a.serveSilenceAlert)))
	mux.handle("GET /api/v3/monitoring/maintenance-windows", http.HandlerFunc(a.serveMaintenanceWindows))
	if full {
		metrics := a.cfg.Metrics
		if a.cfg.ProtectMetrics {
			metrics = a.requireAPIKey("missing or wrong API key", metrics)
		}
		mux.handle("GET /{$}", http.HandlerFunc(serveStatusPage))
		mux.handle("GET /index.html", http.HandlerFunc(serveStatusPage))
		mux.handle("GET /metrics", metrics)
	}
	return rooted(closeAfterBody(recoverer(a.guardAPI(mux))))
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

func (a *api) serveStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.cfg.Backend.Status())
}

// healthResponse is the plain JSON form of GET /health: the summary with
// the overall status.
type healthResponse struct {
	Status healthcheck.HealthStatus `json:"status"`
	healthcheck.Summary
}

func (a *api) serveHealth(w http.ResponseWriter, r *http.Request) {
	sum := a.cfg.Backend.HealthSummary() // one snapshot for status and body
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
func (a *api) serveHealthCheck(w http.ResponseWriter, r *http.Request) {
	service := r.PathValue("service")
	timeout := a.cfg.Backend.CheckTimeout(service)
	extendDeadlines(w, timeout+CheckSlack)
	ctx, cancel := context.WithTimeout(r.Context(), timeout+checkQueueWait)
	defer cancel()
	res, err := a.cfg.Backend.CheckHealth(ctx, service)
	switch {
	case errors.Is(err, healthcheck.ErrUnknownTarget):
		writeError(w, http.StatusNotFound, CodeNotFound, "no health check for that service")
		return
	case a.cfg.Shutdown != nil && errors.Is(err, a.cfg.Shutdown):
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

// serveHistory answers GET /api/v3/monitoring/history?range=1h|6h|24h.
func (a *api) serveHistory(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("range")
	if name == "" {
		name = "1h"
	}
	h, ok := a.cfg.Backend.History(name)
	if !ok {
		writeError(w, http.StatusBadRequest, CodeBadRequest, "range must be 1h, 6h or 24h")
		return
	}
	writeJSON(w, http.StatusOK, h)
}
