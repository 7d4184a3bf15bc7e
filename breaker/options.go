package breaker

import (
	"errors"
	"strconv"
	"time"

	"github.com/listsync/otelmon/internal/clock"
)

// DefaultJitter is the randomization factor of the open period when
// WithJitter is not given: each open period is drawn from ±20 % of its
// nominal length, so that breakers tripped together do not probe together.
const DefaultJitter = 0.2

// Option configures a Breaker (New) or every breaker of a Registry
// (NewRegistry). Options are sealed: only this package defines them.
type Option interface {
	apply(options) options
}

type optionFunc func(options) options

func (f optionFunc) apply(o options) options { return f(o) }

type options struct {
	clock               Clock
	classifier          func(error) Outcome
	listeners           []func(StateChange)
	mode                Mode
	jitter              float64
	openTimeoutOverride time.Duration
}

func newOptions(opts []Option) options {
	o := options{clock: clock.Real{}, jitter: DefaultJitter}
	for _, opt := range opts {
		if opt != nil {
			o = opt.apply(o)
		}
	}
	return o
}

// validate reports every invalid option as a *ConfigError, joined.
func (o options) validate() error {
	var errs []error
	bad := func(field, value, reason string) {
		errs = append(errs, &ConfigError{Field: field, Value: value, Reason: reason})
	}
	if !o.mode.valid() {
		bad("WithMode", o.mode.String(), "unknown mode")
	}
	if !(o.jitter >= 0 && o.jitter < 1) {
		bad("WithJitter", strconv.FormatFloat(o.jitter, 'g', -1, 64), "must be at least 0 and less than 1")
	}
	if o.openTimeoutOverride < 0 {
		bad("WithOpenTimeoutOverride", o.openTimeoutOverride.String(), "must not be negative")
	}
	return errors.Join(errs...)
}

// Clock tells the time. The breaker reads it to time open periods and
// Retry-After windows. Any type with a Now method fits, the Clock of
// healthcheck and alerting included.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
}

// WithClock sets the clock that times open periods and Retry-After windows.
// Default: the wall clock. A nil clock is ignored. (The request timeout is
// a context deadline and always runs on the wall clock.)
func WithClock(c Clock) Option {
	return optionFunc(func(o options) options {
		if c != nil {
			o.clock = c
		}
		return o
	})
}

// WithClassifier sets the function that decides the Outcome of a call that
// returned a non-nil error: Success, Failure or Ignored (any other value
// counts as Failure). It is not consulted for a nil error (always Success),
// for a call that outlived the request timeout (always Failure), or when the
// caller's own context is done (always Ignored). It must be safe for
// concurrent use. Default: nil, under which every non-nil error is a Failure.
func WithClassifier(f func(err error) Outcome) Option {
	return optionFunc(func(o options) options {
		o.classifier = f
		return o
	})
}

// WithStateListener adds a function called after every state change, in the
// goroutine that caused it, with no lock held: it may call back into the
// breaker (State, Counts, SetMode, Execute). Listeners run in the order
// given; transitions caused by different goroutines may be reported
// concurrently and, rarely, out of order, so a listener must be safe for
// concurrent use and should trust ev.To rather than the order of events. The
// option may be given more than once. Default: no listener.
func WithStateListener(f func(ev StateChange)) Option {
	return optionFunc(func(o options) options {
		if f != nil {
			o.listeners = append(o.listeners[:len(o.listeners):len(o.listeners)], f)
		}
		return o
	})
}

// WithMode sets the initial operator mode. Default: ModeNormal. A breaker
// created in ModeForcedOpen starts Open; a value other than the four modes
// is a *ConfigError.
func WithMode(m Mode) Option {
	return optionFunc(func(o options) options {
		o.mode = m
		return o
	})
}

// WithJitter sets the randomization factor of the open period, in [0, 1):
// each period is drawn uniformly from nominal×(1±f), then capped by
// MaxOpenTimeout. Zero makes open periods exact, as tests need. Default:
// DefaultJitter (0.2); a value outside [0, 1) is a *ConfigError.
func WithJitter(f float64) Option {
	return optionFunc(func(o options) options {
		o.jitter = f
		return o
	})
}

// WithOpenTimeoutOverride replaces OpenTimeout by d, and MaxOpenTimeout by
// DefaultMaxOpenTimeoutFactor×d, whatever the Config says. Demos pass it to
// NewRegistry to make every breaker recover within seconds. Default: zero,
// no override; a negative d is a *ConfigError.
func WithOpenTimeoutOverride(d time.Duration) Option {
	return optionFunc(func(o options) options {
		o.openTimeoutOverride = d
		return o
	})
}
