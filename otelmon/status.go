package otelmon

import (
	"encoding/json"
	"math"
	"time"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/otelmon/internal/clientstack"
	"github.com/listsync/otelmon/otelmon/internal/history"
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
	// UnguardedServices lists, sorted, the services whose HTTP clients or
	// monitored sync jobs run without a circuit breaker, because
	// Config.MaxCircuitBreakers were taken when they first asked for one.
	// It holds at most Config.Metrics.CardinalityLimit names; further ones
	// appear as OverflowLabel.
	UnguardedServices []string `json:"unguardedServices"`
	// RateLimits is the pacing of every service a client was made for.
	RateLimits []RateLimitStatus `json:"rateLimits"`
	// Syncs is the latest state of each source's syncs, its last success
	// included. The JSON form also carries it as the map
	// "lastSuccessfulSync" (see Status.LastSuccessfulSync), made from Syncs
	// when encoded.
	Syncs []SyncStatus `json:"syncs"`
	// SLOs is the error budget of every objective (Config.SLOs), per
	// source or service, as of the last alert evaluation.
	SLOs []SLOStatus `json:"slos"`
	// StartedAt is when the Monitor was created (New); UptimeSeconds counts
	// from then.
	StartedAt     time.Time `json:"startedAt"`
	UptimeSeconds float64   `json:"uptimeSeconds"`
	// TraceURLTemplate links a trace id (an alert's TraceIDs) to a trace
	// backend: {traceId} stands for the id (see WithTraceURLTemplate).
	// Empty, and absent from the JSON, when none is set.
	TraceURLTemplate string `json:"traceUrlTemplate,omitempty"`
}

// LastSuccessfulSync maps each source of s.Syncs to its last successful
// sync; sources that never succeeded are absent. It is made from Syncs on
// each call, and is never nil.
func (s Status) LastSuccessfulSync() map[string]time.Time {
	out := make(map[string]time.Time, len(s.Syncs))
	for _, sy := range s.Syncs {
		if !sy.LastSuccess.IsZero() {
			out[sy.Source] = sy.LastSuccess
		}
	}
	return out
}

// MarshalJSON encodes s with its fields' keys, plus "lastSuccessfulSync":
// the map LastSuccessfulSync returns, which clients of the reference
// service read.
func (s Status) MarshalJSON() ([]byte, error) {
	type fields Status // without the method, so no recursion
	return json.Marshal(struct {
		fields
		LastSuccessfulSync map[string]time.Time `json:"lastSuccessfulSync"`
	}{fields(s), s.LastSuccessfulSync()})
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
	// RetryAt is when an open breaker lets trial calls through again: the
	// end of its open period (a Retry-After the service sent included).
	// Zero, and absent from the JSON, unless State is "open"; a breaker
	// forced open has none.
	RetryAt time.Time `json:"retryAt,omitzero"`
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
	// MaxPauseSeconds is the service's RateLimit.MaxPause: the longest
	// one answer can pause its requests, and the slowest pace its budget
	// headers can set is one request per MaxPauseSeconds.
	MaxPauseSeconds float64 `json:"maxPauseSeconds"`
	// Remaining is the last budget the service announced; absent until it
	// announces one.
	Remaining *int64 `json:"remaining,omitempty"`
	// Retries counts attempts after the first; WaitSeconds the time
	// requests spent waiting for the pacer.
	Retries     uint64  `json:"retries"`
	WaitSeconds float64 `json:"waitSeconds"`
	// RateLimitedLastHour counts the requests answered 429 Too Many
	// Requests in the last hour (the last 60 one-minute buckets of the
	// history, the one in progress included). Services past the metrics'
	// cardinality limit share one count.
	RateLimitedLastHour uint64 `json:"rateLimitedLastHour"`
}

// rateLimitStatuses returns the pacing of every service with a client, in
// first-seen order, with its 429s of the last hour from the history.
func rateLimitStatuses(clients *clientstack.Stack, hist *history.History, now time.Time) []RateLimitStatus {
	out := []RateLimitStatus{}
	clients.EachPaced(func(c clientstack.Paced) {
		snap := c.Snapshot
		st := RateLimitStatus{
			Service:           c.Service,
			RequestsPerSecond: finite(snap.Rate),
			WritesPerSecond:   finite(snap.WriteRate),
			Paused:            !snap.PausedUntil.IsZero(),
			PausedUntil:       snap.PausedUntil.UTC(),
			MaxPauseSeconds:   snap.MaxPause.Seconds(),
			Retries:           c.Retries,
			WaitSeconds:       snap.Waited.Seconds(),

			RateLimitedLastHour: hist.LimitedLastHour(c.Label, now, c.RateLimited),
		}
		if snap.Remaining >= 0 {
			st.Remaining = &snap.Remaining
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
// only and cannot fail; it is safe for concurrent use.
func (m *Monitor) Status() Status {
	now := m.clock.Now()
	st := Status{
		HealthSummary:     m.health.checker.Summary(),
		CircuitBreakers:   []BreakerStatus{},
		UnguardedServices: m.clients.Unguarded(),
		RateLimits:        rateLimitStatuses(m.clients, m.hist, now),
		Syncs:             m.sync.syncStatuses(),
		SLOs:              sloStatuses(m.alerts.SLOs()),
		StartedAt:         m.life.startAt.UTC(),
		UptimeSeconds:     now.Sub(m.life.startAt).Seconds(),
		TraceURLTemplate:  m.tracing.urlTemplate,
	}
	if st.Syncs == nil {
		st.Syncs = []SyncStatus{}
	}
	for _, b := range m.breakers.Stats() {
		st.CircuitBreakers = append(st.CircuitBreakers, BreakerStatus{
			Service:             b.Name,
			State:               b.State.String(),
			Mode:                b.Mode.String(),
			ConsecutiveFailures: b.Counts.ConsecutiveFailures,
			Rejected:            b.Rejected,
			RetryAt:             b.OpenUntil.UTC(),
		})
	}
	st.ActiveCriticalAlerts, st.ActiveWarningAlerts = activeAlertCounts(m.alerts)
	return st
}
