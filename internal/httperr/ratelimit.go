package httperr

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrRateLimited is wrapped by every *RateLimitError. otelmon exports it
// as otelmon.ErrRateLimited.
var ErrRateLimited = errors.New("otelmon: rate limited")

// RateLimitError is returned, without waiting, for a request whose wait
// for its service's pacer would pass the request's deadline or the
// service's MaxWait. The request was not sent. It wraps ErrRateLimited,
// and is a breaker.RetryAfterError: a host that counts it as a failure
// holds the breaker open for Wait. otelmon exports it as
// otelmon.RateLimitError.
type RateLimitError struct {
	// Service is the service whose pacer held the request.
	Service string
	// Wait is how long the request would have had to wait: what is left of
	// the pause the service asked for (Retry-After, or its exhausted
	// budget), or of the pace.
	Wait time.Duration
	// Paused is true when Wait is a pause the service asked for, false when
	// it is the pace.
	Paused bool
}

// Error says which service held the request and for how long.
func (e *RateLimitError) Error() string {
	why := "paced"
	if e.Paused {
		why = "asked to wait"
	}
	return fmt.Sprintf("otelmon: %s rate limited: %s %v, past the request's deadline or MaxWait", e.Service, why, e.Wait)
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// RetryAfter returns Wait.
func (e *RateLimitError) RetryAfter() time.Duration { return e.Wait }

// Classify returns the circuit-breaker outcome of an HTTP exchange as an
// error: the transport error itself, a *StatusError for a 5xx, nil for
// everything else. A 429 is nil: a throttled service is not a broken one
// (its Retry-After pauses the service's pacer instead); other 4xx say the
// request was wrong, not that the service is failing.
func Classify(resp *http.Response, err error) error {
	switch {
	case err != nil:
		return err
	case resp.StatusCode >= 500:
		return &StatusError{StatusCode: resp.StatusCode}
	}
	return nil
}
