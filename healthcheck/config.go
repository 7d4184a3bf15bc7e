package healthcheck

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// Defaults applied to zero fields of [Config].
const (
	DefaultCheckInterval     = 5 * time.Minute
	DefaultRequestTimeout    = 30 * time.Second
	DefaultFailureThreshold  = 3
	DefaultRecoveryThreshold = 2
	DefaultMaxConcurrency    = 8
	DefaultJitter            = 0.1
)

// Config holds the schedule and thresholds of a [Checker]. The zero value is
// valid: each zero field means its default. Negative values are invalid, never
// defaulted: New and [Config.Validate] report each as a [*ConfigError].
type Config struct {
	// CheckInterval is the time between the starts of two scheduled checks of
	// one target, before jitter. Optional; default DefaultCheckInterval (5m).
	CheckInterval time.Duration
	// RequestTimeout bounds each check of a target whose Timeout is zero,
	// connection, headers and body included. Optional; default
	// DefaultRequestTimeout (30s).
	RequestTimeout time.Duration
	// FailureThreshold is how many consecutive failures mark a service Down.
	// Optional; default DefaultFailureThreshold (3).
	FailureThreshold int
	// RecoveryThreshold is how many consecutive successes bring a Down
	// service back Up. Optional; default DefaultRecoveryThreshold (2).
	RecoveryThreshold int
	// MaxConcurrency bounds how many checks run at once, scheduled and forced
	// alike. Optional; default DefaultMaxConcurrency (8).
	MaxConcurrency int
	// Jitter delays each scheduled check after the first by a random fraction
	// in [0, Jitter) of CheckInterval, so that targets spread out. It must be
	// in [0, 1). Optional; default DefaultJitter (0.1). Zero means the
	// default; to schedule without jitter, use a jitter source that returns 0
	// (see WithJitterSource).
	Jitter float64
}

// DefaultConfig returns the reference configuration: checks every 5 minutes
// with up to 10% jitter, a 30 s timeout, Down after 3 consecutive failures, Up
// again after 2 consecutive successes, and at most 8 checks at once.
func DefaultConfig() Config {
	return Config{
		CheckInterval:     DefaultCheckInterval,
		RequestTimeout:    DefaultRequestTimeout,
		FailureThreshold:  DefaultFailureThreshold,
		RecoveryThreshold: DefaultRecoveryThreshold,
		MaxConcurrency:    DefaultMaxConcurrency,
		Jitter:            DefaultJitter,
	}
}

// Validate reports every invalid field of c, each as a *ConfigError
// wrapping ErrInvalidConfig, joined with errors.Join. Zero fields are valid:
// they mean the default.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, value, reason string) {
		errs = append(errs, &ConfigError{Field: field, Value: value, Reason: reason})
	}
	for _, d := range []struct {
		field string
		value time.Duration
	}{{"CheckInterval", c.CheckInterval}, {"RequestTimeout", c.RequestTimeout}} {
		if d.value < 0 {
			bad(d.field, d.value.String(), "must not be negative")
		}
	}
	for _, n := range []struct {
		field string
		value int
	}{{"FailureThreshold", c.FailureThreshold}, {"RecoveryThreshold", c.RecoveryThreshold}, {"MaxConcurrency", c.MaxConcurrency}} {
		if n.value < 0 {
			bad(n.field, strconv.Itoa(n.value), "must not be negative")
		}
	}
	if math.IsNaN(c.Jitter) || c.Jitter < 0 || c.Jitter >= 1 {
		bad("Jitter", strconv.FormatFloat(c.Jitter, 'g', -1, 64), "must be at least 0 and less than 1")
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.CheckInterval == 0 {
		c.CheckInterval = d.CheckInterval
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.FailureThreshold == 0 {
		c.FailureThreshold = d.FailureThreshold
	}
	if c.RecoveryThreshold == 0 {
		c.RecoveryThreshold = d.RecoveryThreshold
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = d.MaxConcurrency
	}
	if c.Jitter == 0 {
		c.Jitter = d.Jitter
	}
	return c
}
