package healthcheck

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/listsync/otelmon/internal/clock"
)

// Option configures a Checker. Options are created by the With functions of
// this package; a nil Option is ignored. (Config holds the schedule and
// thresholds; options hold the Checker's dependencies.)
type Option interface {
	apply(options) options
}

// options are the Checker's dependencies; newOptions fills in the defaults.
type options struct {
	clock     Clock
	logger    *slog.Logger
	client    *http.Client // nil: New builds one of its own
	clientFor func(target string) *http.Client
	listeners []func(Transition)
	jitter    func() float64
}

type optionFunc func(options) options

var _ Option = optionFunc(nil)

func (f optionFunc) apply(o options) options { return f(o) }

// newOptions applies opts in order, then puts the default in every
// dependency left nil, so that a nil argument to an option means its default.
func newOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			o = opt.apply(o)
		}
	}
	if o.clock == nil {
		o.clock = clock.Real{}
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.jitter == nil {
		o.jitter = rand.Float64
	}
	return o
}

// Clock tells the time and waits. Its methods use standard types only, so
// any clock a test or host writes fits, and one value serves breaker,
// healthcheck and alerting alike.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer arms a timer that fires once after d: c receives the time
	// when it fires; stop disarms it and reports whether it was still armed.
	NewTimer(d time.Duration) (c <-chan time.Time, stop func() bool)
}

// WithClock sets the clock that schedules checks and stamps results
// (Result.Time, Result.Latency). Default (and for nil): the wall clock.
// Per-check timeouts are deadlines on the request's context and follow the
// wall clock.
func WithClock(c Clock) Option {
	return optionFunc(func(o options) options { o.clock = c; return o })
}

// WithLogger sets the logger for skipped targets (Info), status changes (Info
// for up, Warn for down), failed checks (Debug) and panicking listeners
// (Error). Default (and for nil): slog.Default() as it is when New runs.
// URLs in records are redacted.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o options) options { o.logger = l; return o })
}

// WithHTTPClient sets the client for targets that WithClientFor gives none.
// Its Timeout should be zero or above the check timeouts, which apply through
// the request's context. Default (and for nil): a client of the Checker's
// own with the transport settings of http.DefaultTransport (proxy from the
// environment, HTTP/2, keep-alives); Shutdown closes its idle connections.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(o options) options { o.client = c; return o })
}

// WithClientFor sets a function that returns the client for a target, by
// name. Add calls it once per target and keeps the client; a nil client means
// the WithHTTPClient one. A host uses it to give every service a client whose
// transport records metrics with that service's label. Default (and for
// nil): none.
func WithClientFor(f func(target string) *http.Client) Option {
	return optionFunc(func(o options) options { o.clientFor = f; return o })
}

// WithListener adds a function called on every status change, after the
// change and without any lock held; it may call the Checker's methods, except
// Shutdown, which waits for the goroutine that runs the listener. Each
// listener sees the transitions of one target in order. Listeners run on the
// goroutine that completed the check, so a slow listener delays that
// target's next check. The option may be repeated; listeners are called in
// the order given. A panicking listener is recovered and logged; a nil one is
// ignored. Default: none.
func WithListener(f func(Transition)) Option {
	return optionFunc(func(o options) options {
		if f != nil {
			o.listeners = append(slices.Clip(o.listeners), f)
		}
		return o
	})
}

// WithJitterSource sets the random source of the scheduling jitter: f returns
// a number in [0, 1) (values outside are clamped) and each scheduled check
// after the first waits CheckInterval × (1 + Jitter × f()). f is called
// concurrently. Default (and for nil): math/rand/v2.Float64. Tests pass a
// constant; a host that wants no jitter passes func() float64 { return 0 }.
func WithJitterSource(f func() float64) Option {
	return optionFunc(func(o options) options { o.jitter = f; return o })
}
