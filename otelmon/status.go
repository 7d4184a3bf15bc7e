package otelmon

import (
	"context"
	"math"
	"time"

	"github.com/listsync/otelmon/healthcheck"
)

// Status is the Monitor's state at a glance (the reference service's
// monitoring status). Its JSON keys are camelCase, as in Radarr's API.
type Status struct {
	// ActiveCriticalAlerts and ActiveWarningAlerts count firing alerts.
	ActiveCriticalAlerts int `json:"activeCriticalAlerts"`
	ActiveWarningAlerts  int `json:"activeWarningAlerts"`
	// HealthSummary is the health of every checked service.
	HealthSummary healthcheck.Summary `json:"healthSummary"`
	// CircuitBreakers lists every breaker created so far, by service name.
	CircuitBreakers []BreakerStatus `json:"circuitBreakers"`
	// RateLimits is the pacing of every service a client was made for.
	RateLimits []RateLimitStatus `json:"rateLimits"`
	// LastSuccessfulSync maps each source to its last successful sync;
	// sources that never succeeded are absent.
	LastSuccessfulSync map[string]time.Time `json:"lastSuccessfulSync"`
	// Syncs is the latest state of each source's syncs.
	Syncs []SyncStatus `json:"syncs"`
	// StartedAt is when the Monitor was created (New); UptimeSeconds counts
	// from then.
	StartedAt     time.Time `json:"startedAt"`
	UptimeSeconds float64   `json:"uptimeSeconds"`
}

// BreakerStatus is one circuit breaker's state.
type BreakerStatus struct {
	Service string `json:"service"`
	// State is "closed", "open" or "half-open".
	State string `json:"state"`
	// Mode is the operator mode: "normal", "forced-open", "disabled" or
	// "metrics-only".
	Mode                string `json:"mode"`
	ConsecutiveFailures uint32 `json:"consecutiveFailures"`
	Rejected            uint64 `json:"rejected"`
}

// RateLimitStatus is the pacing of one service's requests, shared by every
// client of the service.
type RateLimitStatus struct {
	Service string `json:"service"`
	// RequestsPerSecond is the current pace of reads (and of writes unless
	// WritesPerSecond differs); absent (null) while the service is unpaced.
	RequestsPerSecond *float64 `json:"requestsPerSecond"`
	// WritesPerSecond is the current pace of writes; null when unpaced.
	WritesPerSecond *float64 `json:"writesPerSecond"`
	// Paused is true while every request waits for a pause the service
	// asked for (Retry-After, or a budget it announced as spent), until
	// PausedUntil.
	Paused      bool      `json:"paused"`
	PausedUntil time.Time `json:"pausedUntil,omitzero"`
	// Remaining is the last budget the service announced; absent until it
	// announces one.
	Remaining *int64 `json:"remaining,omitempty"`
	// Retries counts attempts after the first; WaitSeconds the time
	// requests spent waiting for the pacer.
	Retries     uint64  `json:"retries"`
	WaitSeconds float64 `json:"waitSeconds"`
}

// rateLimitStatuses returns the pacing of every service with a client, in
// first-seen order.
func (m *Monitor) rateLimitStatuses() []RateLimitStatus {
	out := []RateLimitStatus{}
	m.api.services.each(func(s *serviceSeries) {
		c := s.client.c.Load()
		if c == nil {
			return
		}
		snap := c.pacer.Snapshot()
		st := RateLimitStatus{
			Service:           s.name,
			RequestsPerSecond: finite(snap.Rate),
			WritesPerSecond:   finite(snap.WriteRate),
			Paused:            !snap.PausedUntil.IsZero(),
			PausedUntil:       snap.PausedUntil.UTC(),
			Retries:           s.retries.Load(),
			WaitSeconds:       snap.Waited.Seconds(),
		}
		if snap.Remaining >= 0 {
			st.Remaining = &snap.Remaining
		}
		if !st.Paused {
			st.PausedUntil = time.Time{}
		}
		out = append(out, st)
	})
	return out
}

// finite returns &v, or nil for an infinite pace.
func finite(v float64) *float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return &v
}

// Status returns the Monitor's current state. It reads in-memory state
// only; ctx is for future use by remote components.
func (m *Monitor) Status(_ context.Context) (Status, error) {
	st := Status{
		HealthSummary:      m.health.Summary(),
		CircuitBreakers:    []BreakerStatus{},
		RateLimits:         m.rateLimitStatuses(),
		LastSuccessfulSync: map[string]time.Time{},
		Syncs:              m.sync.syncStatuses(),
		StartedAt:          m.startAt.UTC(),
		UptimeSeconds:      m.clock.Now().Sub(m.startAt).Seconds(),
	}
	if st.Syncs == nil {
		st.Syncs = []SyncStatus{}
	}
	for _, s := range st.Syncs {
		if !s.LastSuccess.IsZero() {
			st.LastSuccessfulSync[s.Source] = s.LastSuccess
		}
	}
	for _, b := range m.breakers.Stats() {
		st.CircuitBreakers = append(st.CircuitBreakers, BreakerStatus{
			Service:             b.Name,
			State:               b.State.String(),
			Mode:                b.Mode.String(),
			ConsecutiveFailures: b.Counts.ConsecutiveFailures,
			Rejected:            b.Rejected,
		})
	}
	st.ActiveCriticalAlerts, st.ActiveWarningAlerts = m.activeAlertCounts()
	return st, nil
}
