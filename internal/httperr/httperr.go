// Package httperr holds the one error type every part of otelmon uses for an
// HTTP answer it treats as a failure: a probe that got an unexpected status,
// an API call the breaker counts as failed, a notification the receiver
// refused. The public packages export it under the name StatusError
// (alerting.StatusError, healthcheck.StatusError and otelmon.StatusError are
// the same type), so errors.As matches it whichever name a caller uses.
package httperr

import (
	"fmt"
	"net/http"
	"time"

	"github.com/listsync/otelmon/internal/retryafter"
)

// StatusError reports an HTTP response whose status its receiver counts as a
// failure. Its message holds the status only, never the URL or the body,
// which may carry secrets.
type StatusError struct {
	// StatusCode is the HTTP status code received.
	StatusCode int
	// Delay is how long the server asked the client to wait before trying
	// again (a Retry-After header, or a body field such as Discord's
	// retry_after); zero when it did not say.
	Delay time.Duration
}

// Error returns "unexpected HTTP status <code> <text>".
func (e *StatusError) Error() string {
	if t := http.StatusText(e.StatusCode); t != "" {
		return fmt.Sprintf("unexpected HTTP status %d %s", e.StatusCode, t)
	}
	return fmt.Sprintf("unexpected HTTP status %d", e.StatusCode)
}

// RetryAfter returns Delay. It makes a StatusError a breaker.RetryAfterError,
// so a 429 or 503 that asked for a pause holds a circuit breaker open for it.
func (e *StatusError) RetryAfter() time.Duration { return e.Delay }

// FromResponse returns a StatusError for resp, with Delay read from its
// Retry-After header (seconds or an HTTP date, relative to now).
func FromResponse(resp *http.Response, now time.Time) *StatusError {
	return &StatusError{StatusCode: resp.StatusCode, Delay: retryafter.Parse(resp.Header.Get("Retry-After"), now)}
}
