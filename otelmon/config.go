package otelmon

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/configerr"
	"github.com/listsync/otelmon/internal/names"
)

// Defaults of the reference service.
const (
	DefaultAlertEvaluationInterval = 60 * time.Second
	DefaultAlertRetention          = 30 * 24 * time.Hour
	DefaultCardinalityLimit        = 100
)

// Config mirrors the reference service's monitor configuration. Its zero
// value is the reference configuration, the same as [DefaultConfig]: every
// field left zero, in Config{} or in a literal that sets only a few fields,
// means its default, and the default alerts and timing histograms are on
// unless an opt-out field turns them off. Negative durations and limits are
// invalid: New rejects them with a *ConfigError.
type Config struct {
	// Metrics names the metrics and chooses which are recorded.
	Metrics MetricsConfig
	// HealthChecks configures the periodic health checks. Zero fields mean
	// the defaults: every 5 min, 30 s timeout, down after 3 consecutive
	// failures, up again after 2 consecutive successes.
	HealthChecks healthcheck.Config
	// DisableDefaultAlerts leaves out the default alert rules
	// (alerting.DefaultRules). Default false: they are installed.
	DisableDefaultAlerts bool
	// AlertEvaluationInterval is how often alert rules are evaluated.
	// Default 60 s.
	AlertEvaluationInterval time.Duration
	// AlertRetention is how long resolved alerts are kept. Default 30 days.
	AlertRetention time.Duration
	// CircuitBreakers overrides breaker settings per service; fields left
	// zero keep the service's defaults (DefaultBreakerConfigFor: imdb 5
	// failures / 60 s open / 30 s request timeout, tmdb 3 / 30 s / 10 s,
	// trakt 3 / 45 s / 15 s, plex 2 / 30 s / 20 s, others 5 / 60 s / 30 s).
	// Empty means the defaults.
	CircuitBreakers map[string]breaker.Config
	// MaxCircuitBreakers bounds how many services get a circuit breaker
	// (one per service name, made on first use), so that unbounded names
	// cannot grow memory. A client for a service beyond it (HTTPClient,
	// Transport) is unguarded: its requests are still paced, retried and
	// counted, but no breaker stops them; the Monitor logs a warning once
	// for the service and Status lists it in UnguardedServices. Breaker
	// and ExecuteWithCircuitBreaker fail for it with an error wrapping
	// breaker.ErrRegistryFull. Default (zero) breaker.DefaultMaxBreakers,
	// 64; negative is invalid.
	MaxCircuitBreakers int
	// RateLimits overrides, per service, how the Monitor's clients pace,
	// retry and judge requests; fields left zero keep the service's
	// defaults (DefaultRateLimitFor: tmdb 40/s, trakt 1000 GET per 5 min
	// and 1 write/s, others unpaced until they push back; 3 attempts for
	// idempotent requests; a 429 is not a breaker failure). Empty means the
	// defaults.
	RateLimits map[string]RateLimit
	// Silences bounds silences (POST /api/v3/monitoring/silences,
	// alerting.Engine.CreateSilence): their longest duration (default 30
	// days), how many may be pending or active (default 1000), how long
	// expired ones are kept (default 120 h), and each one's size: text
	// (4 KiB), matchers (32), regular expressions (1 KiB each, 48 KiB of
	// memory compiled). Zero fields mean the defaults. With Alertmanager
	// notifiers, silences are the cluster's, fetched every Refresh
	// (default 15 s) and after each change (see docs/alerts.md).
	Silences alerting.SilenceConfig
	// SLOs configures the service level objectives and their error
	// budgets, watched by the alert rules slo_burn_rate_page and
	// slo_burn_rate_ticket. Zero fields mean the defaults: 99 % of each
	// source's syncs succeed over 30 days; the API objectives are off.
	SLOs SLOConfig
	// DisableDefaultSLOs leaves out the sync success objective (and with
	// no API objective, the burn-rate rules). Default false.
	DisableDefaultSLOs bool
	// MaintenanceWindows mute the alerts they select at recurring times,
	// with Alertmanager's time_intervals semantics, e.g. plex every day
	// 03:00–03:15 Europe/Berlin (see alerting.MaintenanceWindow). An alert
	// inside a window is evaluated and listed, with the window's name in its
	// mutedBy, but not notified. Empty means none.
	MaintenanceWindows []alerting.MaintenanceWindow
}

// MetricsConfig names the metrics and chooses which are recorded. Its zero
// value is the default.
type MetricsConfig struct {
	// Namespace is the first part of every metric name. Default "radarr".
	Namespace string
	// Subsystem is the second part of every metric name. Default "list_sync".
	Subsystem string
	// DisableTimingHistograms removes the sync and API duration histograms.
	// Default false: both are recorded.
	DisableTimingHistograms bool
	// CardinalityLimit bounds the distinct values of each label (source,
	// cache type, service); further values are recorded under OverflowLabel.
	// Default 100.
	CardinalityLimit int
}

// DefaultConfig returns the reference service's configuration with every
// default spelled out: namespace "radarr", subsystem "list_sync", timing
// histograms on, default alerts on, alert evaluation every 60 s, resolved
// alerts kept 30 days, healthcheck.DefaultConfig, at most 64 circuit
// breakers, the sync success objective (99 % over 30 days). New treats
// Config{} the same way.
func DefaultConfig() Config {
	return Config{
		Metrics: MetricsConfig{
			Namespace:        names.DefaultNamespace,
			Subsystem:        names.DefaultSubsystem,
			CardinalityLimit: DefaultCardinalityLimit,
		},
		HealthChecks:            healthcheck.DefaultConfig(),
		MaxCircuitBreakers:      breaker.DefaultMaxBreakers,
		AlertEvaluationInterval: DefaultAlertEvaluationInterval,
		AlertRetention:          DefaultAlertRetention,
		SLOs: SLOConfig{
			Period:                alerting.DefaultSLOPeriod,
			SyncSuccessTarget:     alerting.DefaultSyncSuccessTarget,
			APIAvailabilityTarget: alerting.DefaultAPIAvailabilityTarget,
			APILatencyTarget:      alerting.DefaultAPILatencyTarget,
			APILatencyThreshold:   alerting.DefaultAPILatencyThreshold,
		},
	}
}

// ErrInvalidConfig is wrapped by every *ConfigError: New and NewAlertEngine
// return an error wrapping it for a Config or option they cannot use.
var ErrInvalidConfig = errors.New("otelmon: invalid config")

// ConfigError reports one invalid configuration value. It wraps
// ErrInvalidConfig and, when the value was rejected by a component
// (breaker, healthcheck), that component's error, so errors.Is(err,
// breaker.ErrInvalidConfig) and errors.As with the component's error type
// work on New's error. Several problems are joined with errors.Join.
type ConfigError struct {
	// Field is the Config field or option at fault, e.g. "AlertRetention"
	// or "CircuitBreakers[tmdb]".
	Field string
	// Value is the offending value as text; empty when there is none.
	Value string
	// Reason says what the value must be; empty when Err says it.
	Reason string
	// Err is the component's own error for the value, or nil.
	Err error
}

// Error describes the field, its value and what is wrong with it.
func (e *ConfigError) Error() string {
	s := configerr.Message(ErrInvalidConfig.Error(), e.Field, e.Value, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrInvalidConfig and, when set, Err.
func (e *ConfigError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidConfig}
	}
	return []error{ErrInvalidConfig, e.Err}
}

// withDefaults returns c with zero values replaced by defaults, or every
// problem found, each a *ConfigError, joined.
func (c Config) withDefaults() (Config, error) {
	def := DefaultConfig()
	var errs []error
	for _, f := range []struct {
		name string
		v    *string
		def  string
	}{
		{"Metrics.Namespace", &c.Metrics.Namespace, def.Metrics.Namespace},
		{"Metrics.Subsystem", &c.Metrics.Subsystem, def.Metrics.Subsystem},
	} {
		if *f.v == "" {
			*f.v = f.def
		}
		if !validNamePart(*f.v) {
			errs = append(errs, &ConfigError{Field: f.name, Value: strconv.Quote(*f.v), Reason: "must match [a-zA-Z_][a-zA-Z0-9_]*"})
		}
	}
	errs = append(errs,
		orDefault("Metrics.CardinalityLimit", &c.Metrics.CardinalityLimit, def.Metrics.CardinalityLimit),
		orDefault("AlertEvaluationInterval", &c.AlertEvaluationInterval, def.AlertEvaluationInterval),
		orDefault("AlertRetention", &c.AlertRetention, def.AlertRetention),
		orDefault("MaxCircuitBreakers", &c.MaxCircuitBreakers, def.MaxCircuitBreakers))
	if err := c.HealthChecks.Validate(); err != nil {
		errs = append(errs, &ConfigError{Field: "HealthChecks", Err: err})
	} else {
		h, d := &c.HealthChecks, def.HealthChecks
		fillZero(&h.CheckInterval, d.CheckInterval)
		fillZero(&h.RequestTimeout, d.RequestTimeout)
		fillZero(&h.FailureThreshold, d.FailureThreshold)
		fillZero(&h.RecoveryThreshold, d.RecoveryThreshold)
		fillZero(&h.MaxConcurrency, d.MaxConcurrency)
		fillZero(&h.Jitter, d.Jitter)
	}
	for _, name := range slices.Sorted(maps.Keys(c.CircuitBreakers)) {
		if err := c.CircuitBreakers[name].Validate(); err != nil {
			errs = append(errs, &ConfigError{Field: "CircuitBreakers[" + name + "]", Err: err})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.RateLimits)) {
		errs = append(errs, c.RateLimits[name].validate("RateLimits["+name+"]"))
	}
	if err := (alerting.Config{Silences: c.Silences}).Validate(); err != nil {
		errs = append(errs, &ConfigError{Field: "Silences", Err: err})
	}
	if err := (alerting.Config{MaintenanceWindows: c.MaintenanceWindows}).Validate(); err != nil {
		errs = append(errs, &ConfigError{Field: "MaintenanceWindows", Err: err})
	}
	c.MaintenanceWindows = slices.Clone(c.MaintenanceWindows)
	var err error
	if c.SLOs, err = c.SLOs.withDefaults(!c.Metrics.DisableTimingHistograms); err != nil {
		errs = append(errs, err)
	}
	// The Monitor reads the maps for its life: a host that changes or
	// reuses its own must not race with it.
	c.CircuitBreakers, c.RateLimits = maps.Clone(c.CircuitBreakers), maps.Clone(c.RateLimits)
	return c, errors.Join(errs...)
}

// orDefault replaces a zero *v by def and rejects a negative one.
func orDefault[T int | time.Duration](field string, v *T, def T) error {
	return configerr.OrDefault(v, def, field, invalid)
}

// invalid returns a *ConfigError for field.
func invalid(field, value, reason string) error {
	return &ConfigError{Field: field, Value: value, Reason: reason}
}

// fillZero replaces a zero *v by def.
func fillZero[T int | time.Duration | float64](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

func validNamePart(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}
