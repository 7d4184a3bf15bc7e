package otelmon

import (
	"context"
	"net/http"
	"time"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/httperr"
)

// Breaker returns the circuit breaker of service, creating it on first use
// with the service's defaults (DefaultBreakerConfigFor) overridden by
// Config.CircuitBreakers. It fails for an empty name or when
// Config.MaxCircuitBreakers breakers exist already (an error wrapping
// breaker.ErrRegistryFull).
func (m *Monitor) Breaker(service string) (*breaker.Breaker, error) {
	return m.breakers.Get(service)
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
	return httperr.Classify(resp, err)
}
