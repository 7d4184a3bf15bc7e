package otelmon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/httperr"
	"github.com/listsync/otelmon/internal/names"
)

// Breaker returns the circuit breaker of service, creating it on first use
// with the service's defaults (DefaultBreakerConfigFor) overridden by
// Config.CircuitBreakers. It fails for an empty name or when
// Config.MaxCircuitBreakers breakers exist already (an error wrapping
// breaker.ErrRegistryFull).
func (m *Monitor) Breaker(service string) (*breaker.Breaker, error) {
	return m.breakers.Get(service)
}

// unguardedSet remembers the services that run without a circuit breaker,
// for Status and so that each is warned about once. It holds at most limit
// names; further ones share OverflowLabel.
type unguardedSet struct {
	limit int
	mu    sync.Mutex          // guards names
	names map[string]struct{} // sanitized labels
}

// add records service and reports whether it is new.
func (u *unguardedSet) add(service string) bool {
	label := sanitizeLabel(service)
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.names[label]; ok {
		return false
	}
	if len(u.names) >= u.limit {
		if _, ok := u.names[OverflowLabel]; ok {
			return false
		}
		label = OverflowLabel
	}
	if u.names == nil {
		u.names = map[string]struct{}{}
	}
	u.names[label] = struct{}{}
	return true
}

// list returns the recorded services, sorted; never nil.
func (u *unguardedSet) list() []string {
	u.mu.Lock()
	out := slices.AppendSeq(make([]string, 0, len(u.names)), maps.Keys(u.names))
	u.mu.Unlock()
	slices.Sort(out)
	return out
}

// noteUnguarded records that what (a service's HTTP clients or sync jobs)
// got no breaker for service, and logs a warning the first time.
func (m *Monitor) noteUnguarded(ctx context.Context, service, what string, err error) {
	if m.unguarded.add(service) {
		m.logger.WarnContext(ctx, "otelmon: no circuit breaker for "+what+"; they run unguarded",
			"service", service, "maxCircuitBreakers", m.cfg.MaxCircuitBreakers, "err", err)
	}
}

// ExecuteWithCircuitBreaker runs fn through service's circuit breaker:
// rejected at once with an error wrapping breaker.ErrOpen while the breaker
// is open (or breaker.ErrTooManyRequests while it is testing recovery),
// bounded by the service's request timeout through ctx otherwise. fn's
// error is returned as is. The outcome (success, failure or rejected, with
// the redacted error) is added to ctx's span as an event,
// EventBreakerOutcome, when the span records.
func (m *Monitor) ExecuteWithCircuitBreaker(ctx context.Context, service string, fn func(context.Context) error) error {
	b, err := m.breakers.Get(service)
	if err != nil {
		return err
	}
	err = b.Execute(ctx, fn)
	executeEvent(ctx, service, err)
	return err
}

// Execute is ExecuteWithCircuitBreaker for a function that returns a value.
func Execute[T any](ctx context.Context, m *Monitor, service string, fn func(context.Context) (T, error)) (T, error) {
	b, err := m.breakers.Get(service)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := breaker.Do(ctx, b, fn)
	executeEvent(ctx, service, err)
	return v, err
}

// StatusError is the breaker's view of an HTTP response that counts as a
// failure of the service: a 5xx, or (with RateLimit.ThrottleIsFailure) a
// 429 whose Retry-After (its Delay, if any) holds the breaker open at least
// that long. The response itself still
// reaches the caller; StatusError only feeds the breaker. It is the same type
// as alerting.StatusError and healthcheck.StatusError.
type StatusError = httperr.StatusError

var _ breaker.RetryAfterError = (*StatusError)(nil)

// ClassifyResponse returns the breaker outcome of an HTTP exchange as an
// error: the transport error itself, a *StatusError for 5xx, nil for
// everything else. A 429 is nil: a throttled service is not a broken one
// (its Retry-After pauses the service's pacer instead); other 4xx say the
// request was wrong, not that the service is failing. now is unused since
// a 429 stopped counting; it stays for callers' compatibility.
func ClassifyResponse(resp *http.Response, err error, now time.Time) error {
	_ = now
	switch {
	case err != nil:
		return err
	case resp.StatusCode >= 500:
		return &StatusError{StatusCode: resp.StatusCode}
	}
	return nil
}

// classify is ClassifyResponse, with a 429 a failure (carrying its
// Retry-After) when the service's RateLimit.ThrottleIsFailure says so.
func (t *breakerTransport) classify(resp *http.Response, err error, now time.Time) error {
	if t.throttleFails && err == nil && resp.StatusCode == http.StatusTooManyRequests {
		return httperr.FromResponse(resp, now)
	}
	return ClassifyResponse(resp, err, now)
}

// breakerTransport admits each request through a breaker and reports its
// classified outcome when the response headers arrive. When the breaker
// has a request timeout, the timeout's context lives until the response
// body is closed, so reading the body is bounded too.
type breakerTransport struct {
	m    *Monitor
	b    *breaker.Breaker
	held bool // a monitored sync job holds b's admission for every request
	// throttleFails counts a 429 as a failure (RateLimit.ThrottleIsFailure).
	throttleFails bool
	next          http.RoundTripper
}

func (t *breakerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.held || holdsBreaker(req.Context(), t.b) {
		return t.roundTripInJob(req)
	}
	ticket, ctx, err := t.b.Allow(req.Context())
	if err != nil {
		breakerEvent(req.Context(), t.b.Name(), err)
		if req.Body != nil {
			_ = req.Body.Close() // RoundTrippers must close the body, even on error
		}
		return nil, err
	}
	timed := ctx != req.Context()
	if timed {
		req = req.WithContext(ctx)
	}
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests && !t.throttleFails {
		// Neither a failure nor a success: Release, below or when the body
		// is closed, records the attempt as ignored.
	} else {
		ticket.Done(t.classify(resp, err, t.m.clock.Now()))
	}
	if err != nil || !timed {
		ticket.Release()
		return resp, err
	}
	resp.Body = &ticketBody{ReadCloser: resp.Body, ticket: ticket}
	return resp, nil
}

// roundTripInJob sends a request of a monitored sync job that holds the
// breaker: not counted by it, but bounded by the request timeout (until
// the body is closed), and with a 429's Retry-After window noted for the
// job's outcome.
func (t *breakerTransport) roundTripInJob(req *http.Request) (*http.Response, error) {
	d := t.b.Config().RequestTimeout
	if d <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), d)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	now := t.m.clock.Now()
	var se *StatusError
	if errors.As(t.classify(resp, err, now), &se) && se.Delay > 0 {
		t.m.retryWindows.note(t.b, now.Add(se.Delay))
	}
	if err != nil {
		cancel()
		return resp, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// ticketBody releases the breaker ticket, and so the request-timeout
// context, when the caller closes the body.
type ticketBody struct {
	io.ReadCloser
	ticket breaker.Ticket
}

func (b *ticketBody) Close() error {
	err := b.ReadCloser.Close()
	b.ticket.Release()
	return err
}

// cancelBody ends a request's timeout context when the caller closes the
// body.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// transitionAttrs are the from/to attributes of every transition, by
// [from][to] state.
func transitionAttrs() (out [3][3]attribute.Set) {
	for from := breaker.Closed; from <= breaker.HalfOpen; from++ {
		for to := breaker.Closed; to <= breaker.HalfOpen; to++ {
			out[from][to] = attribute.NewSet(
				attribute.String(names.AttrFrom, from.String()),
				attribute.String(names.AttrTo, to.String()))
		}
	}
	return out
}

// registerBreakerMetrics exports the registry's breakers from their atomics.
func registerBreakerMetrics(meter metric.Meter, prefix names.Prefix, reg *breaker.Registry, services *labelTable[serviceSeries]) (metric.Registration, error) {
	failures, err1 := meter.Int64ObservableGauge(prefix.Name(names.CircuitBreakerFailures),
		metric.WithDescription("Consecutive failures counted toward the circuit breaker's threshold, per service; reset when it opens."))
	state, err2 := meter.Int64ObservableGauge(prefix.Name(names.CircuitBreakerState),
		metric.WithDescription("Circuit breaker state per service: 0 closed, 1 open, 2 half-open."))
	rejected, err3 := meter.Int64ObservableCounter(prefix.Name(names.CircuitBreakerRejected),
		metric.WithDescription("Calls rejected by the circuit breaker without running, per service."))
	transitions, err4 := meter.Int64ObservableCounter(prefix.Name(names.CircuitBreakerTransits),
		metric.WithDescription("Circuit breaker state transitions, per service and from/to state."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, fmt.Errorf("otelmon: breaker instruments: %w", err)
	}
	pairs := transitionAttrs()
	r, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, st := range reg.Stats() {
			s := services.get(st.Name)
			o.ObserveInt64(failures, int64(st.Counts.ConsecutiveFailures), s.obs...)
			o.ObserveInt64(state, int64(st.State), s.obs...)
			o.ObserveInt64(rejected, int64(st.Rejected), s.obs...)
			for from := range st.Transitions {
				for to, n := range st.Transitions[from] {
					if from == to {
						continue
					}
					kvs := append(s.set.ToSlice(), pairs[from][to].ToSlice()...)
					o.ObserveInt64(transitions, int64(n), metric.WithAttributes(kvs...))
				}
			}
		}
		return nil
	}, failures, state, rejected, transitions)
	if err != nil {
		return nil, fmt.Errorf("otelmon: register breaker callback: %w", err)
	}
	return r, nil
}
