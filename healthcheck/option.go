package healthcheck

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/listsync/otelmon/internal/clock"
)

// Option configures a Checker. Options are created by the With functions of
// this package.
type Option interface {
	apply(*options)
}

type options struct {
	clock     Clock
	logger    *slog.Logger
	client    *http.Client
	clientFor func(target string) *http.Client
	listeners []func(Transition)
	jitter    func() float64
}

type optionFunc func(*options)

var _ Option = optionFunc(nil)

func (f optionFunc) apply(o *options) { f(o) }

func newOptions(opts []Option) options {
	o := options{
		clock:  clock.Real{},
		logger: slog.New(slog.DiscardHandler),
		jitter: rand.Float64,
	}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
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
// (Result.Time, Result.Latency). Default: the wall clock. Per-check timeouts
// are deadlines on the request's context and follow the wall clock.
func WithClock(c Clock) Option {
	return optionFunc(func(o *options) {
		if c != nil {
			o.clock = c
		}
	})
}

// WithLogger sets the logger for skipped targets (Info), status changes (Info
// for up, Warn for down), failed checks (Debug) and panicking listeners
// (Error). Default: a logger that discards everything. URLs in records are
// redacted.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) {
		if l != nil {
			o.logger = l
		}
	})
}

// WithHTTPClient sets the client for targets that WithClientFor gives none.
// Its Timeout should be zero or above the check timeouts, which apply through
// the request's context. Default: a client of the Checker's own with the
// transport settings of http.DefaultTransport (proxy from the environment,
// HTTP/2, keep-alives); Shutdown closes its idle connections.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(o *options) {
		if c != nil {
			o.client = c
		}
	})
}

// WithClientFor sets a function that returns the client for a target, by
// name. Add calls it once per target and keeps the client; a nil client means
// the WithHTTPClient one. A host uses it to give every service a client whose
// transport records metrics with that service's label. Default: none.
func WithClientFor(f func(target string) *http.Client) Option {
	return optionFunc(func(o *options) { o.clientFor = f })
}

// WithListener adds a function called on every status change, after the
// change and without any lock held; it may call the Checker's methods, except
// Shutdown, which waits for the goroutine that runs the listener. Each
// listener sees the transitions of one target in order. Listeners run on the
// goroutine that completed the check, so a slow listener delays that
// target's next check. The option may be repeated; listeners are called in
// the order given. A panicking listener is recovered and logged. Default:
// none.
func WithListener(f func(Transition)) Option {
	return optionFunc(func(o *options) {
		if f != nil {
			o.listeners = append(o.listeners, f)
		}
	})
}

// WithJitterSource sets the random source of the scheduling jitter: f returns
// a number in [0, 1) (values outside are clamped) and each scheduled check
// after the first waits CheckInterval × (1 + Jitter × f()). f is called
// concurrently. Default: math/rand/v2.Float64. Tests pass a constant; a host
// that wants no jitter passes func() float64 { return 0 }.
func WithJitterSource(f func() float64) Option {
	return optionFunc(func(o *options) {
		if f != nil {
			o.jitter = f
		}
	})
}
