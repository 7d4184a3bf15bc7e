package otelmon

import (
	"fmt"
	"time"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/names"
)

// Defaults of the reference service.
const (
	DefaultAlertEvaluationInterval = 60 * time.Second
	DefaultAlertRetention          = 30 * 24 * time.Hour
	DefaultCardinalityLimit        = 100
)

// Config mirrors the reference service's monitor configuration. Start from
// [DefaultConfig]; in a hand-built Config, zero durations and limits mean
// their defaults and empty Namespace and Subsystem mean "radarr" and
// "list_sync".
type Config struct {
	Metrics MetricsConfig
	// HealthChecks configures the periodic health checks. Zero fields mean
	// the defaults: every 5 min, 30 s timeout, down after 3 consecutive
	// failures, up again after 2 consecutive successes.
	HealthChecks healthcheck.Config
	// EnableDefaultAlerts installs the default alert rules.
	EnableDefaultAlerts bool
	// AlertEvaluationInterval is how often alert rules are evaluated.
	// Default 60 s.
	AlertEvaluationInterval time.Duration
	// AlertRetention is how long resolved alerts are kept. Default 30 days.
	AlertRetention time.Duration
	// CircuitBreakers overrides breaker settings per service; fields left
	// zero keep the service's defaults (breaker.DefaultConfigFor: imdb 5
	// failures / 60 s open / 30 s request timeout, tmdb 3 / 30 s / 10 s,
	// trakt 3 / 45 s / 15 s, plex 2 / 30 s / 20 s, others 5 / 60 s / 30 s).
	// Empty means the defaults.
	CircuitBreakers map[string]breaker.Config
}

// MetricsConfig names the metrics and chooses which are recorded.
type MetricsConfig struct {
	// Namespace is the first part of every metric name. Default "radarr".
	Namespace string
	// Subsystem is the second part of every metric name. Default "list_sync".
	Subsystem string
	// EnableTimingHistograms records the sync and API duration histograms.
	// DefaultConfig turns it on; false removes both histograms.
	EnableTimingHistograms bool
	// CardinalityLimit bounds the distinct values of each label (source,
	// cache type, service); further values are recorded under OverflowLabel.
	// Default 100.
	CardinalityLimit int
}

// DefaultConfig returns the reference service's defaults: namespace
// "radarr", subsystem "list_sync", timing histograms on, default alerts on,
// alert evaluation every 60 s, resolved alerts kept 30 days.
func DefaultConfig() Config {
	return Config{
		Metrics: MetricsConfig{
			Namespace:              names.DefaultNamespace,
			Subsystem:              names.DefaultSubsystem,
			EnableTimingHistograms: true,
			CardinalityLimit:       DefaultCardinalityLimit,
		},
		HealthChecks:            healthcheck.DefaultConfig(),
		EnableDefaultAlerts:     true,
		AlertEvaluationInterval: DefaultAlertEvaluationInterval,
		AlertRetention:          DefaultAlertRetention,
	}
}

// ConfigError is returned by New for a Config it cannot use.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("otelmon: invalid config: %s %s", e.Field, e.Reason)
}

// withDefaults returns c with zero values replaced by defaults, or a
// *ConfigError.
func (c Config) withDefaults() (Config, error) {
	if c.Metrics.Namespace == "" {
		c.Metrics.Namespace = names.DefaultNamespace
	}
	if c.Metrics.Subsystem == "" {
		c.Metrics.Subsystem = names.DefaultSubsystem
	}
	for _, f := range []struct {
		name string
		v    string
	}{{"Metrics.Namespace", c.Metrics.Namespace}, {"Metrics.Subsystem", c.Metrics.Subsystem}} {
		if !validNamePart(f.v) {
			return c, &ConfigError{f.name, fmt.Sprintf("%q must match [a-zA-Z_][a-zA-Z0-9_]*", f.v)}
		}
	}
	if err := orDefault("Metrics.CardinalityLimit", &c.Metrics.CardinalityLimit, DefaultCardinalityLimit); err != nil {
		return c, err
	}
	if err := orDefault("AlertEvaluationInterval", &c.AlertEvaluationInterval, DefaultAlertEvaluationInterval); err != nil {
		return c, err
	}
	if err := orDefault("AlertRetention", &c.AlertRetention, DefaultAlertRetention); err != nil {
		return c, err
	}
	if err := c.HealthChecks.Validate(); err != nil {
		return c, &ConfigError{"HealthChecks", err.Error()}
	}
	for name, bc := range c.CircuitBreakers {
		if err := bc.Validate(); err != nil {
			return c, &ConfigError{"CircuitBreakers[" + name + "]", err.Error()}
		}
	}
	return c, nil
}

// orDefault replaces a zero *v by def and rejects a negative one.
func orDefault[T int | time.Duration](field string, v *T, def T) error {
	switch {
	case *v < 0:
		return &ConfigError{field, "must not be negative"}
	case *v == 0:
		*v = def
	}
	return nil
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
