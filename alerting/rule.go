package alerting

import (
	"maps"
	"slices"
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
// What is watched, with its threshold and window, lives on the Condition
// only: a rule never repeats it.
//
// A rule applies per series: with an empty Source or Service its condition
// is evaluated on every series of the instrument and raises one alert per
// series on which it holds.
//
// Name and Condition are required; every other field is optional, and its
// zero value is the documented default. A rule is evaluated unless it is
// Disabled.
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
	// Condition is what the rule watches, with its own threshold and
	// window. Required.
	Condition Condition
	// RateLimit is the least time between two notifications of one alert.
	// With RateLimit zero an alert is notified once when it fires and once
	// when it resolves. With RateLimit positive an alert still firing and not
	// acknowledged is notified again every RateLimit, and an alert that
	// fires again within RateLimit of its last notification is held back:
	// the next notification carries in HeldBack how many firings were held.
	// Optional.
	RateLimit time.Duration
	// AutoResolveAfter is a hold-down: a firing alert resolves only once its
	// condition has not held for AutoResolveAfter (a slow sync is still
	// worth a look half an hour later). Optional; zero resolves the alert
	// as soon as its condition clears (subject to ResolveAfterClear).
	AutoResolveAfter time.Duration
	// Disabled keeps the rule registered (Rules lists it) but stops its
	// evaluation; its alerts resolve. Optional; the zero value evaluates
	// the rule.
	Disabled bool

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
	// default 1 h. Setting it without Changes is an error.
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
		case BurnRate:
			v.Objectives = cloneObjectives(v.Objectives)
			v.Windows = slices.Clone(v.Windows)
			c = v
		}
		r.Condition = c
	}
	return r
}

// validate checks the rule's own fields and compiles its condition.
func (r *Rule) validate(prefix names.Prefix) (compiled, error) {
	switch {
	case strings.TrimSpace(r.Name) == "":
		return compiled{}, invalid(r.Name, "Name", "empty name")
	case len(r.Name) > 128 || !utf8.ValidString(r.Name) || strings.IndexFunc(r.Name, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0:
		return compiled{}, invalid(r.Name, "Name", "want at most 128 printable characters")
	case r.Level < Info || r.Level > Critical:
		return compiled{}, invalid(r.Name, "Level", "unknown level %d", int(r.Level))
	case r.ResolveAfterClear < 0:
		return compiled{}, invalid(r.Name, "ResolveAfterClear", "negative count %d", r.ResolveAfterClear)
	case r.Flap.Changes < 0:
		return compiled{}, invalid(r.Name, "Flap.Changes", "negative count %d", r.Flap.Changes)
	case r.Flap.Window != 0 && r.Flap.Changes == 0:
		return compiled{}, invalid(r.Name, "Flap.Window", "set without Flap.Changes, which turns flap detection on")
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
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

// DefaultRules returns the reference service's five rules as
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
			RateLimit:   30 * time.Minute,
		},
		{
			Name:             RuleSlowSyncOperation,
			Level:            Warning,
			Description:      "A list sync took longer than five minutes.",
			Condition:        SlowOperation{Threshold: 5 * time.Minute, Window: 5 * time.Minute},
			AutoResolveAfter: 30 * time.Minute,
		},
		{
			Name:        RuleHighRateLimitHits,
			Level:       Critical,
			Description: "An external API rate-limited the service more than 10 times in an hour.",
			Condition:   RateAbove{Metric: names.APIRateLimitHitsTotal, Threshold: 10, Window: time.Hour},
			RateLimit:   2 * time.Hour,
		},
		{
			Name:        RuleServiceDown,
			Level:       Critical,
			Description: "An external service fails its health checks.",
			Condition:   ServiceDown{},
		},
		{
			Name:        RuleCircuitBreakerOpen,
			Level:       Warning,
			Description: "The circuit breaker of an external service is open; calls to it are rejected.",
			Condition:   CircuitOpen{},
		},
	}
}
