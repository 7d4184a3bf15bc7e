package alerting

import (
	"maps"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/listsync/otelmon/internal/names"
)

// Rule says when to raise an alert, how loud, and how to calm it down. Its
// first fields are those of the reference service's alert rule; the rest
// (For, ResolveAfterClear, Flap) are optional hysteresis.
//
// A rule applies per series: with an empty Source or Service its condition
// is evaluated on every series of the instrument and raises one alert per
// series on which it holds.
//
// The zero value is not a valid rule: Name and Condition are required, and
// a rule whose Enabled is false is kept but never evaluated.
type Rule struct {
	// Name identifies the rule and becomes the "alertname" of its
	// Prometheus twin. Required; unique within an engine; at most 128
	// printable characters.
	Name string
	// Level is the alerts' severity. Optional; default Info.
	Level Level
	// Description explains the alert to a human; it is copied to each alert.
	// Optional.
	Description string
	// Labels are added to each alert's labels (over the series' own
	// attributes of the same name) and to the Prometheus twin. Optional.
	Labels map[string]string
	// Condition is what the rule watches. Required.
	Condition Condition
	// Threshold is the value RateAbove and Threshold conditions compare
	// against. ConsecutiveFailures and SlowOperation carry their own
	// threshold; for them this field is optional and, if set, must agree.
	// ServiceDown and CircuitOpen ignore it. It must be a finite number.
	Threshold float64
	// EvaluationWindow is the period over which windowed conditions
	// (SlowOperation, RateAbove, windowed Threshold) look back. Required by
	// SlowOperation; used by the others when they have no Window of their
	// own.
	EvaluationWindow time.Duration
	// RateLimit is the least time between two notifications of one alert.
	// With RateLimit zero an alert is notified once when it fires and once
	// when it resolves. With RateLimit positive an alert still firing and not
	// acknowledged is notified again every RateLimit, and an alert that
	// fires again within RateLimit of its last notification is held back:
	// the next notification carries in HeldBack how many firings were held.
	// Optional.
	RateLimit time.Duration
	// AutoResolve, with AutoResolveAfter, resolves a firing alert only once
	// its condition has not held for AutoResolveAfter (a hold-down: a slow
	// sync is still worth a look half an hour later). Without AutoResolve an
	// alert resolves as soon as its condition clears (subject to
	// ResolveAfterClear). Setting AutoResolveAfter without AutoResolve is an
	// error.
	AutoResolve      bool
	AutoResolveAfter time.Duration
	// Enabled must be true for the rule to be evaluated. A disabled rule is
	// kept (Rules lists it) and its alerts resolve.
	Enabled bool

	// For is how long the condition must hold before the alert fires; until
	// then it is Pending. Optional; zero fires at once.
	For time.Duration
	// ResolveAfterClear is how many consecutive evaluations must find the
	// condition clear before a firing alert resolves. Optional; zero means 1.
	ResolveAfterClear int
	// Flap configures flap detection. Optional; the zero value disables it.
	Flap Flapping
}

// Flapping configures flap detection: an alert whose state changes (fires
// or resolves) more than Changes times within Window is flapping. A
// flapping alert is held firing, is notified once with Flapping set, and
// gets no further notifications until it has been stable for a whole
// Window; it then resolves (with a notification) if its condition is clear.
type Flapping struct {
	// Changes is the number of state changes within Window tolerated before
	// the alert counts as flapping. Zero disables flap detection.
	Changes int
	// Window is the period over which changes are counted. Optional;
	// default 1 h when Changes is positive.
	Window time.Duration
}

// DefaultFlapWindow is Flapping.Window's default.
const DefaultFlapWindow = time.Hour

func (f Flapping) window() time.Duration {
	if f.Window > 0 {
		return f.Window
	}
	return DefaultFlapWindow
}

// clone returns r with its maps copied, so that the engine's copy cannot be
// changed by the caller and vice versa.
func (r Rule) clone() Rule {
	r.Labels = maps.Clone(r.Labels)
	if c, ok := conditionValue(r.Condition); ok {
		switch v := c.(type) {
		case RateAbove:
			v.Attributes = maps.Clone(v.Attributes)
			c = v
		case Threshold:
			v.Attributes = maps.Clone(v.Attributes)
			c = v
		}
		r.Condition = c
	}
	return r
}

func (r *Rule) resolveAfterClear() int { return max(1, r.ResolveAfterClear) }

// validate checks the rule's own fields and compiles its condition.
func (r *Rule) validate(prefix names.Prefix) (compiled, error) {
	switch {
	case strings.TrimSpace(r.Name) == "":
		return compiled{}, invalid(r.Name, "Name", "empty name")
	case len(r.Name) > 128 || !utf8.ValidString(r.Name) || strings.IndexFunc(r.Name, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0:
		return compiled{}, invalid(r.Name, "Name", "want at most 128 printable characters")
	case r.Level < Info || r.Level > Critical:
		return compiled{}, invalid(r.Name, "Level", "unknown level %d", int(r.Level))
	case math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0):
		return compiled{}, invalid(r.Name, "Threshold", "%g can never be compared", r.Threshold)
	case r.ResolveAfterClear < 0:
		return compiled{}, invalid(r.Name, "ResolveAfterClear", "negative count %d", r.ResolveAfterClear)
	case r.Flap.Changes < 0:
		return compiled{}, invalid(r.Name, "Flap.Changes", "negative count %d", r.Flap.Changes)
	case r.AutoResolveAfter > 0 && !r.AutoResolve:
		return compiled{}, invalid(r.Name, "AutoResolveAfter", "set without AutoResolve")
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"EvaluationWindow", r.EvaluationWindow},
		{"RateLimit", r.RateLimit},
		{"AutoResolveAfter", r.AutoResolveAfter},
		{"For", r.For},
		{"Flap.Window", r.Flap.Window},
	} {
		if d.v < 0 {
			return compiled{}, invalid(r.Name, d.field, "negative duration %s", d.v)
		}
	}
	for k := range r.Labels {
		if k == "" {
			return compiled{}, invalid(r.Name, "Labels", "empty label name")
		}
	}
	return compile(r, prefix)
}

// Names of the default rules.
const (
	RuleConsecutiveSyncFailures = "consecutive_sync_failures"
	RuleSlowSyncOperation       = "slow_sync_operation"
	RuleHighRateLimitHits       = "high_rate_limit_hits"
	RuleServiceDown             = "service_down"
	RuleCircuitBreakerOpen      = "circuit_breaker_open"
)

// DefaultRules returns the reference service's five rules, enabled, as
// fresh values the caller may change before adding them:
//
//   - consecutive_sync_failures: 3 consecutive failed syncs of a source;
//     Warning; notified again at most every 30 min; resolves with the next
//     successful sync (the gauge returns to 0).
//   - slow_sync_operation: a sync of a source took more than 5 min (300 s)
//     within the last 5 min; Warning; resolves once no slow sync has been
//     seen for 30 min.
//   - high_rate_limit_hits: more than 10 rate-limit hits from a service in
//     one hour; Critical; notified again at most every 2 h.
//   - service_down: a service's health check reports it down; Critical;
//     resolves when it is up again.
//   - circuit_breaker_open: a service's circuit breaker is open; Warning;
//     resolves when the breaker closes (half-open keeps it firing).
//
// The rules name instruments by suffix, so they work under any namespace
// given to the engine with WithNamespace.
func DefaultRules() []Rule {
	return []Rule{
		{
			Name:        RuleConsecutiveSyncFailures,
			Level:       Warning,
			Description: "A list source failed to sync several times in a row.",
			Condition:   ConsecutiveFailures{Count: 3},
			Threshold:   3,
			RateLimit:   30 * time.Minute,
			Enabled:     true,
		},
		{
			Name:             RuleSlowSyncOperation,
			Level:            Warning,
			Description:      "A list sync took longer than five minutes.",
			Condition:        SlowOperation{Threshold: 5 * time.Minute},
			Threshold:        300,
			EvaluationWindow: 5 * time.Minute,
			AutoResolve:      true,
			AutoResolveAfter: 30 * time.Minute,
			Enabled:          true,
		},
		{
			Name:             RuleHighRateLimitHits,
			Level:            Critical,
			Description:      "An external API rate-limited the service more than 10 times in an hour.",
			Condition:        RateAbove{Metric: names.APIRateLimitHitsTotal},
			Threshold:        10,
			EvaluationWindow: time.Hour,
			RateLimit:        2 * time.Hour,
			Enabled:          true,
		},
		{
			Name:        RuleServiceDown,
			Level:       Critical,
			Description: "An external service fails its health checks.",
			Condition:   ServiceDown{},
			AutoResolve: true,
			Enabled:     true,
		},
		{
			Name:        RuleCircuitBreakerOpen,
			Level:       Warning,
			Description: "The circuit breaker of an external service is open; calls to it are rejected.",
			Condition:   CircuitOpen{},
			AutoResolve: true,
			Enabled:     true,
		},
	}
}
