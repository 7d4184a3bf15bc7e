package otelmon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/otelmon/internal/history"
	"github.com/listsync/otelmon/otelmon/internal/httpapi"
)

// Error codes of the API's JSON errors ({"error": "...", "code": "..."}).
const (
	CodeBadRequest       = httpapi.CodeBadRequest
	CodeUnauthorized     = httpapi.CodeUnauthorized
	CodeNotFound         = httpapi.CodeNotFound
	CodeMethodNotAllowed = httpapi.CodeMethodNotAllowed
	CodeConflict         = httpapi.CodeConflict
	CodeTooLarge         = httpapi.CodeTooLarge
	// CodeUnsupportedMediaType answers a body that is not JSON (415).
	CodeUnsupportedMediaType = httpapi.CodeUnsupportedMediaType
	CodeUnavailable          = httpapi.CodeUnavailable
	CodeInternal             = httpapi.CodeInternal
)

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
func (m *Monitor) Handler() http.Handler { return httpapi.Handler(m.apiConfig()) }

// APIHandler returns the /api/v3/monitoring/... endpoints of Handler alone,
// without the status page and /metrics, for a host that serves its own.
// Like Handler, it works under any prefix with http.StripPrefix.
func (m *Monitor) APIHandler() http.Handler { return httpapi.APIHandler(m.apiConfig()) }

// apiConfig is what the API serves.
func (m *Monitor) apiConfig() httpapi.Config {
	return httpapi.Config{
		Backend:        apiBackend{m},
		Alerts:         m.alerts,
		APIKey:         m.access.apiKey,
		Metrics:        m.MetricsHandler(),
		ProtectMetrics: m.access.protectMetrics,
		Shutdown:       ErrShutdown,
	}
}

// apiBackend is the Monitor as the API reads it.
type apiBackend struct{ m *Monitor }

var _ httpapi.Backend = apiBackend{}

func (b apiBackend) Status() any                        { return b.m.Status() }
func (b apiBackend) HealthSummary() healthcheck.Summary { return b.m.health.checker.Summary() }
func (b apiBackend) CheckHealth(ctx context.Context, service string) (healthcheck.Result, error) {
	return b.m.CheckHealthNow(ctx, service)
}

// CheckTimeout returns the timeout of the health check of service: its
// own, or the configured default.
func (b apiBackend) CheckTimeout(service string) time.Duration { return b.m.health.timeout(service) }

// History returns the history of the named range, topped up with a fresh
// collection when the last one is older than a second.
func (b apiBackend) History(name string) (any, bool) {
	rg, ok := history.ParseRange(name)
	if !ok {
		return nil, false
	}
	m := b.m
	now := m.clock.Now()
	m.hist.Refresh(now)
	out := m.hist.Snapshot(name, rg, now)
	out.Alerts = history.Alerts(m.alerts, out.Start, out.End)
	return out, true
}

// generateAPIKey returns 32 random hex digits, as Radarr's keys look. It
// logs that a key was generated, but not the key: a secret never goes to a
// log. The host reads it with Monitor.APIKey (the demo prints it).
func generateAPIKey(o options) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("otelmon: generate API key: %w", err)
	}
	o.logger.Info("otelmon: no API key configured; generated one for /api/v3 (read it with Monitor.APIKey)")
	return hex.EncodeToString(b[:]), nil
}
