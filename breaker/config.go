package breaker

import (
	"cmp"
	"errors"
	"math"
	"strconv"
	"time"
)

// Defaults for zero Config fields.
const (
	// DefaultFailureThreshold is the FailureThreshold of a zero Config.
	DefaultFailureThreshold = 5
	// DefaultOpenTimeout is the OpenTimeout of a zero Config.
	DefaultOpenTimeout = 60 * time.Second
	// DefaultHalfOpenMaxRequests is the HalfOpenMaxRequests of a zero Config.
	DefaultHalfOpenMaxRequests = 1
	// DefaultMaxOpenTimeoutFactor: a zero MaxOpenTimeout is this many
	// times OpenTimeout.
	DefaultMaxOpenTimeoutFactor = 10
	// DefaultBackoffMultiplier is the BackoffMultiplier of a zero Config.
	DefaultBackoffMultiplier = 2.0
	// MaxFailureThreshold is the largest FailureThreshold accepted.
	MaxFailureThreshold = 1<<20 - 1
)

// Config holds a breaker's thresholds and timeouts. The zero value is valid:
// a zero field means its default. Negative values are invalid; New rejects
// them with a *ConfigError.
type Config struct {
	// FailureThreshold is the number of consecutive failures in the closed
	// state that opens the breaker: the N-th consecutive failure trips it.
	// Optional; zero means DefaultFailureThreshold (5). At most
	// MaxFailureThreshold.
	FailureThreshold int

	// SuccessThreshold is the number of successful trial calls in the
	// half-open state that closes the breaker. Trials may run one after
	// another, so it may exceed HalfOpenMaxRequests. Optional; zero means
	// HalfOpenMaxRequests.
	SuccessThreshold int

	// HalfOpenMaxRequests is the number of trial calls the half-open state
	// runs at once; further calls are rejected with ErrTooManyRequests.
	// Optional; zero means DefaultHalfOpenMaxRequests (1).
	HalfOpenMaxRequests int

	// OpenTimeout is how long the breaker stays open after its first trip
	// before it lets trial calls through. Optional; zero means
	// DefaultOpenTimeout (60 s).
	OpenTimeout time.Duration

	// MaxOpenTimeout caps the open period, which grows on repeated trips
	// and which a Retry-After may lengthen. Optional; zero means
	// DefaultMaxOpenTimeoutFactor (10) times OpenTimeout. It must not be
	// less than OpenTimeout.
	MaxOpenTimeout time.Duration

	// BackoffMultiplier is the factor by which the open period grows on
	// each trip that follows a half-open state, until the breaker closes.
	// Optional; zero means DefaultBackoffMultiplier (2); 1 keeps the open
	// period fixed. Values between 0 and 1 are invalid.
	BackoffMultiplier float64

	// RequestTimeout bounds each call: fn's context gets this deadline, and
	// a call that outlives it counts as a failure. Optional; zero means no
	// timeout other than the caller's own.
	RequestTimeout time.Duration
}

// Merge returns c with every non-zero field of override in place of c's, so
// an override need set only the fields it changes:
//
//	cfg := defaults.Merge(breaker.Config{OpenTimeout: 5 * time.Second})
func (c Config) Merge(override Config) Config {
	c.FailureThreshold = cmp.Or(override.FailureThreshold, c.FailureThreshold)
	c.SuccessThreshold = cmp.Or(override.SuccessThreshold, c.SuccessThreshold)
	c.HalfOpenMaxRequests = cmp.Or(override.HalfOpenMaxRequests, c.HalfOpenMaxRequests)
	c.OpenTimeout = cmp.Or(override.OpenTimeout, c.OpenTimeout)
	c.MaxOpenTimeout = cmp.Or(override.MaxOpenTimeout, c.MaxOpenTimeout)
	c.BackoffMultiplier = cmp.Or(override.BackoffMultiplier, c.BackoffMultiplier)
	c.RequestTimeout = cmp.Or(override.RequestTimeout, c.RequestTimeout)
	return c
}

// Validate reports every invalid field, each as a *ConfigError wrapping
// ErrInvalidConfig, joined with errors.Join. It returns nil for a valid
// Config, the zero Config included.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, value, reason string) {
		errs = append(errs, &ConfigError{Field: field, Value: value, Reason: reason})
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"FailureThreshold", c.FailureThreshold},
		{"SuccessThreshold", c.SuccessThreshold},
		{"HalfOpenMaxRequests", c.HalfOpenMaxRequests},
	} {
		if f.v < 0 {
			bad(f.name, strconv.Itoa(f.v), "must not be negative")
		}
	}
	if c.FailureThreshold > MaxFailureThreshold {
		bad("FailureThreshold", strconv.Itoa(c.FailureThreshold), "must be at most "+strconv.Itoa(MaxFailureThreshold))
	}
	if c.SuccessThreshold > math.MaxUint32 {
		bad("SuccessThreshold", strconv.Itoa(c.SuccessThreshold), "must fit in 32 bits")
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"OpenTimeout", c.OpenTimeout},
		{"MaxOpenTimeout", c.MaxOpenTimeout},
		{"RequestTimeout", c.RequestTimeout},
	} {
		if f.v < 0 {
			bad(f.name, f.v.String(), "must not be negative")
		}
	}
	if m := c.BackoffMultiplier; m != 0 && !(m >= 1 && m <= math.MaxFloat64) {
		bad("BackoffMultiplier", strconv.FormatFloat(m, 'g', -1, 64), "must be zero (default) or a finite number of at least 1")
	}
	if r := c.resolve(); r.OpenTimeout > 0 && r.MaxOpenTimeout > 0 && r.MaxOpenTimeout < r.OpenTimeout {
		bad("MaxOpenTimeout", c.MaxOpenTimeout.String(), "must not be less than OpenTimeout ("+r.OpenTimeout.String()+")")
	}
	return errors.Join(errs...)
}

// resolve returns c with its zero fields set to their defaults.
func (c Config) resolve() Config {
	if c.FailureThreshold == 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	if c.HalfOpenMaxRequests == 0 {
		c.HalfOpenMaxRequests = DefaultHalfOpenMaxRequests
	}
	if c.SuccessThreshold == 0 {
		c.SuccessThreshold = c.HalfOpenMaxRequests
	}
	if c.OpenTimeout == 0 {
		c.OpenTimeout = DefaultOpenTimeout
	}
	if c.MaxOpenTimeout == 0 {
		c.MaxOpenTimeout = c.OpenTimeout * DefaultMaxOpenTimeoutFactor
		if c.MaxOpenTimeout/DefaultMaxOpenTimeoutFactor != c.OpenTimeout {
			c.MaxOpenTimeout = math.MaxInt64 // overflow
		}
	}
	if c.BackoffMultiplier == 0 {
		c.BackoffMultiplier = DefaultBackoffMultiplier
	}
	return c
}
