// Package clientstack builds what otelmon puts under every request to an
// external service. From the top:
//
//   - pacing and retries (paced.go): the service's pacer, shared by every
//     client of the service in the process, then retries of idempotent
//     requests within a retry budget;
//   - the circuit breaker (breaker.go), or the admission a monitored sync
//     job already holds;
//   - counting and timing (series.go): api_requests_total and friends,
//     and otelhttp's duration and client span.
//
// Health probes get a variant (probe.go): sent at once, never through the
// breaker, counted and timed apart. The stack's instruments are
// registered in metrics.go, its span events are in events.go.
//
// otelmon's Monitor holds one Stack; Monitor.Transport, HTTPClient,
// SyncJob.HTTPClient and the health checks' clients all come from it.
package clientstack

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
	"github.com/listsync/otelmon/internal/pacer"
	"github.com/listsync/otelmon/otelmon/internal/labels"
)

// Limits is how the stack paces, retries and judges one service's
// requests: otelmon's RateLimit, resolved.
type Limits struct {
	// Pacer configures the service's pacer; zero rates leave it unpaced
	// until the service pushes back.
	Pacer pacer.Config
	// MaxAttempts bounds the attempts of an idempotent request, the first
	// included.
	MaxAttempts int
	// ThrottleIsFailure makes a 429 a breaker failure.
	ThrottleIsFailure bool
}

// Config is what a Stack is built from. Every field is required unless it
// says otherwise.
type Config struct {
	Clock  clock.Clock
	Logger *slog.Logger // warns once per service that runs unguarded
	// Meter records the stack's own instruments, named under Prefix.
	Meter  metric.Meter
	Prefix names.Prefix
	// CardinalityLimit bounds the service labels (labels.Table).
	CardinalityLimit int
	// ProbeBuckets are the boundaries of health_check_duration_seconds;
	// nil records no probe durations (timing histograms off).
	ProbeBuckets []float64
	// MaxClients bounds the services whose pacer and retry budget are kept
	// and shared; it is also the breakers' bound, named in the warning
	// about unguarded services.
	MaxClients int
	// LimitsFor returns a service's Limits.
	LimitsFor func(service string) Limits
	// Breakers gives each service its circuit breaker.
	Breakers *breaker.Registry
	// OTelHTTP are otelhttp's options for API requests: its meter and
	// tracer providers.
	OTelHTTP []otelhttp.Option
	// TracerProvider is the client spans' provider; nil when the Monitor
	// does not trace. Optional.
	TracerProvider trace.TracerProvider
	// ProbeSpans asks for a client span per health probe. Optional.
	ProbeSpans bool
}

// Stack is every service's client stack, with the state its clients
// share. It is safe for concurrent use.
type Stack struct {
	cfg       Config
	services  *labels.Table[Series]
	clients   clients
	unguarded unguarded
	windows   retryWindows // Retry-After seen inside monitored sync jobs
	probeTime metric.Float64Histogram
	regs      []metric.Registration
}

// New builds the stack and registers its instruments on cfg.Meter.
func New(cfg Config) (*Stack, error) {
	s := &Stack{
		cfg:       cfg,
		services:  labels.NewTable(names.AttrService, cfg.CardinalityLimit, newSeries),
		clients:   clients{max: cfg.MaxClients},
		unguarded: unguarded{limit: cfg.CardinalityLimit},
	}
	if err := s.register(); err != nil {
		return nil, errors.Join(err, s.Unregister())
	}
	return s, nil
}

// Unregister removes the stack's instrument callbacks.
func (s *Stack) Unregister() error {
	var errs []error
	for _, r := range s.regs {
		errs = append(errs, r.Unregister())
	}
	s.regs = nil
	return errors.Join(errs...)
}

// Transport returns the API client stack of service over base (nil:
// http.DefaultTransport): pacer and retries, the service's breaker, and
// the counting and timing. A service the registry gives no breaker runs
// unguarded (see NoteUnguarded).
func (s *Stack) Transport(service string, base http.RoundTripper) http.RoundTripper {
	b, err := s.cfg.Breakers.Get(service)
	if err != nil {
		// The registry is full or the name empty: requests still flow,
		// unguarded.
		s.NoteUnguarded(context.Background(), service, "its HTTP clients", err)
	}
	return s.stack(s.client(service), b, false, orDefault(base))
}

// JobTransport returns the client stack of service for a monitored sync
// job that holds held's admission: its requests are not admitted again,
// but each is bounded by the breaker's request timeout, and a 429's
// Retry-After is noted for the job's outcome (JobOutcome).
func (s *Stack) JobTransport(service string, held *breaker.Breaker) http.RoundTripper {
	return s.stack(s.client(service), held, true, http.DefaultTransport)
}

// stack returns the client stack of c's service over base: the pacer and
// retries, the breaker b (none when b is nil; held when a sync job holds
// b's admission for every request), and the counting and timing.
func (s *Stack) stack(c *client, b *breaker.Breaker, held bool, base http.RoundTripper) *pacedTransport {
	next := s.instrumented(c.series, base)
	if b != nil {
		next = &breakerTransport{s: s, b: b, held: held, throttleFails: c.limits.ThrottleIsFailure, next: next}
	}
	return &pacedTransport{s: s, c: c, next: next}
}

// NoteUnguarded records that what (a service's HTTP clients or sync jobs)
// got no breaker for service, and logs a warning the first time.
func (s *Stack) NoteUnguarded(ctx context.Context, service, what string, err error) {
	if s.unguarded.add(service) {
		s.cfg.Logger.WarnContext(ctx, "otelmon: no circuit breaker for "+what+"; they run unguarded",
			"service", service, "maxCircuitBreakers", s.cfg.MaxClients, "err", err)
	}
}

// Unguarded returns the services that run without a breaker, sorted; never
// nil.
func (s *Stack) Unguarded() []string { return s.unguarded.list() }

// Label returns the metric label of service: its sanitized name, or
// labels.Overflow past the cardinality limit.
func (s *Stack) Label(service string) string { return s.services.Get(service).Name }

// ObserveOptions returns the attributes of service's series, for an
// instrument the caller records per service.
func (s *Stack) ObserveOptions(service string) []metric.ObserveOption {
	return s.services.Get(service).obs
}

// ThrottleIsFailure reports whether service's 429s are breaker failures.
func (s *Stack) ThrottleIsFailure(service string) bool {
	return s.client(service).limits.ThrottleIsFailure
}

// JobOutcome is the error b judges a monitored sync job by: err itself,
// carrying what is left at now of the Retry-After window a 429 to one of
// the job's requests announced, when err is not nil and the window runs.
func (s *Stack) JobOutcome(b *breaker.Breaker, err error, now time.Time) error {
	return s.windows.outcome(b, err, now)
}

// Paced is the pacing of one service with a client, for the status.
type Paced struct {
	Service  string         // the service's name
	Label    string         // its metric label
	Snapshot pacer.Snapshot // its pacer's state
	// Retries counts attempts after the first; RateLimited the answers
	// 429. Both are per label: services past the cardinality limit share
	// them.
	Retries, RateLimited uint64
}

// EachPaced calls f for every service with a kept client, in first-use
// order.
func (s *Stack) EachPaced(f func(Paced)) {
	s.clients.each(func(c *client) {
		f(Paced{
			Service:     c.name,
			Label:       c.series.Name,
			Snapshot:    c.pacer.Snapshot(),
			Retries:     c.series.retries.Load(),
			RateLimited: c.series.rateLimited.Load(),
		})
	})
}

func orDefault(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		return http.DefaultTransport
	}
	return base
}

// unguarded remembers the services that run without a circuit breaker,
// for the status and so that each is warned about once. It holds at most
// limit names; further ones share labels.Overflow.
type unguarded struct {
	limit int
	mu    sync.Mutex          // guards names
	names map[string]struct{} // sanitized labels
}

// add records service and reports whether it is new.
func (u *unguarded) add(service string) bool {
	label := labels.Sanitize(service)
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.names[label]; ok {
		return false
	}
	if len(u.names) >= u.limit {
		if _, ok := u.names[labels.Overflow]; ok {
			return false
		}
		label = labels.Overflow
	}
	if u.names == nil {
		u.names = map[string]struct{}{}
	}
	u.names[label] = struct{}{}
	return true
}

// list returns the recorded services, sorted; never nil.
func (u *unguarded) list() []string {
	u.mu.Lock()
	out := slices.AppendSeq(make([]string, 0, len(u.names)), maps.Keys(u.names))
	u.mu.Unlock()
	slices.Sort(out)
	return out
}
