package otelmon

import (
	"context"
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

// Status returns the Monitor's current state. It reads in-memory state
// only; ctx is for future use by remote components.
func (m *Monitor) Status(_ context.Context) (Status, error) {
	st := Status{
		HealthSummary:      m.health.Summary(),
		CircuitBreakers:    []BreakerStatus{},
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
