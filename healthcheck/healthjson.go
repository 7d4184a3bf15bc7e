package healthcheck

import (
	"encoding/json"
	"net/http"
	"time"
)

// ContentTypeHealthJSON is the media type of health+json documents.
const ContentTypeHealthJSON = "application/health+json"

// HealthStatus is a status of the health+json format
// (draft-inadarei-api-health-check).
type HealthStatus string

// health+json statuses.
const (
	HealthPass HealthStatus = "pass"
	HealthWarn HealthStatus = "warn"
	HealthFail HealthStatus = "fail"
)

// HTTPStatusCode returns the HTTP status to answer a health request with:
// 503 Service Unavailable for fail, 200 OK otherwise.
func (s HealthStatus) HTTPStatusCode() int {
	if s == HealthFail {
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}

// healthOf maps a service status: up → pass, unknown → warn, down → fail.
func healthOf(s Status) HealthStatus {
	switch s {
	case Up:
		return HealthPass
	case Down:
		return HealthFail
	}
	return HealthWarn
}

// HealthDocument is a health+json document.
type HealthDocument struct {
	// Status is pass when every service is up (or no target is registered),
	// fail when every service is down, warn otherwise.
	Status HealthStatus `json:"status"`
	// Checks has one entry per service, keyed "<name>:responseTime".
	Checks map[string][]HealthCheck `json:"checks,omitempty"`
}

// HealthCheck is one measurement of one service in a HealthDocument.
type HealthCheck struct {
	// ComponentID is the service's name.
	ComponentID string `json:"componentId"`
	// ComponentType is "component".
	ComponentType string `json:"componentType"`
	// Status is the service's status: up → pass, unknown → warn, down → fail.
	Status HealthStatus `json:"status"`
	// Time is when the last counted check started, RFC 3339 in UTC; omitted
	// before the first check.
	Time string `json:"time,omitempty"`
	// ObservedValue is the last counted check's latency in milliseconds;
	// omitted before the first check.
	ObservedValue *float64 `json:"observedValue,omitempty"`
	// ObservedUnit is "ms" when ObservedValue is set.
	ObservedUnit string `json:"observedUnit,omitempty"`
	// Output is the last counted check's redacted error, omitted when empty.
	Output string `json:"output,omitempty"`
}

// Health returns the current statuses as a health+json document.
func (c *Checker) Health() HealthDocument {
	return c.Summary().Health()
}

// Health renders the summary as a health+json document, as Checker.Health
// does; a caller that needs both forms of one snapshot takes the Summary
// once and calls this.
func (s Summary) Health() HealthDocument {
	doc := HealthDocument{Status: HealthPass}
	switch {
	case s.TotalServices > 0 && s.UnhealthyServices == s.TotalServices:
		doc.Status = HealthFail
	case s.HealthyServices < s.TotalServices:
		doc.Status = HealthWarn
	}
	if s.TotalServices == 0 {
		return doc
	}
	doc.Checks = make(map[string][]HealthCheck, len(s.Services))
	for _, svc := range s.Services {
		hc := HealthCheck{
			ComponentID:   svc.Name,
			ComponentType: "component",
			Status:        healthOf(svc.Status),
			Output:        svc.LastError,
		}
		if !svc.LastCheck.IsZero() {
			ms := svc.LatencyMs
			hc.Time = svc.LastCheck.UTC().Format(time.RFC3339)
			hc.ObservedValue = &ms
			hc.ObservedUnit = "ms"
		}
		doc.Checks[svc.Name+":responseTime"] = []HealthCheck{hc}
	}
	return doc
}

// Handler returns an http.Handler that serves Health with WriteHealthJSON.
func (c *Checker) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteHealthJSON(w, r, c.Health())
	})
}

// WriteHealthJSON answers r with doc: content type ContentTypeHealthJSON,
// "Cache-Control: no-store" (a health answer is stale at once), the HTTP
// status of doc.Status.HTTPStatusCode, and no body for HEAD. It is the one
// health+json writer: Checker.Handler and otelmon's API both use it.
func WriteHealthJSON(w http.ResponseWriter, r *http.Request, doc HealthDocument) {
	body, err := json.Marshal(doc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ContentTypeHealthJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(doc.Status.HTTPStatusCode())
	if r.Method != http.MethodHead {
		_, _ = w.Write(append(body, '\n'))
	}
}
