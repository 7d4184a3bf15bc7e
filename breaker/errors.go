package breaker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/listsync/otelmon/internal/configerr"
)

var (
	// ErrOpen is returned by Execute, Do and Allow when the breaker is open,
	// or forced open by ModeForcedOpen, and the call was not run. The
	// returned error names the breaker and wraps ErrOpen.
	ErrOpen = errors.New("circuit breaker is open")

	// ErrTooManyRequests is returned by Execute, Do and Allow when the
	// breaker is half-open and HalfOpenMaxRequests trial calls are already
	// running, and the call was not run. The returned error names the
	// breaker and wraps ErrTooManyRequests.
	ErrTooManyRequests = errors.New("circuit breaker is half-open: too many trial requests")

	// ErrInvalidConfig is returned (wrapped in a *ConfigError) by New,
	// Config.Validate and Registry.Get when a configuration value or option
	// is invalid.
	ErrInvalidConfig = errors.New("invalid circuit breaker config")

	// ErrRegistryFull is returned (wrapped) by Registry.Get when creating a
	// breaker would exceed the registry's limit (see RegistryConfig.MaxBreakers).
	ErrRegistryFull = errors.New("circuit breaker registry is full")
)

var (
	_ error = (*ConfigError)(nil)
	_ error = (*rejectError)(nil)
)

// ConfigError reports one invalid configuration value. It wraps
// ErrInvalidConfig; find it with errors.As.
type ConfigError struct {
	// Field is the Config field or option at fault, e.g. "FailureThreshold".
	Field string
	// Value is the offending value as text; empty when there is none.
	Value string
	// Reason says what the value must be.
	Reason string
}

// Error returns "invalid circuit breaker config: Field = Value: Reason".
func (e *ConfigError) Error() string {
	return configerr.Message(ErrInvalidConfig.Error(), e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// RetryAfterError is implemented by errors that carry a server's request to
// wait, such as an HTTP 429 or 503 response with a Retry-After header. When a
// failure's error chain holds one with a positive RetryAfter, the next time
// the breaker opens while that window still runs (at once, if this failure
// trips it), it stays open at least until the window ends, up to
// Config.MaxOpenTimeout.
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// retryAfter returns the longest positive RetryAfter found in err's chain,
// walking it by hand so that a failure path costs no allocation.
func retryAfter(err error) time.Duration {
	for err != nil {
		if ra, ok := err.(RetryAfterError); ok {
			if d := ra.RetryAfter(); d > 0 {
				return d
			}
		}
		switch x := err.(type) {
		case interface{ Unwrap() error }:
			err = x.Unwrap()
		case interface{ Unwrap() []error }:
			var longest time.Duration
			for _, e := range x.Unwrap() {
				longest = max(longest, retryAfter(e))
			}
			return longest
		default:
			return 0
		}
	}
	return 0
}

// rejectError is a rejection, built once per breaker so that rejecting
// allocates nothing.
type rejectError struct {
	msg string
	err error
}

func newRejectError(name string, sentinel error) *rejectError {
	return &rejectError{msg: fmt.Sprintf("breaker %q: %s", name, sentinel), err: sentinel}
}

func (e *rejectError) Error() string { return e.msg }
func (e *rejectError) Unwrap() error { return e.err }

// timeoutError is the cause of the request-timeout context, which tells the
// breaker's own timeout from the caller's deadline. It wraps
// context.DeadlineExceeded.
type timeoutError struct {
	msg string
}

func newTimeoutError(name string, d time.Duration) *timeoutError {
	return &timeoutError{msg: fmt.Sprintf("breaker %q: request timeout of %v exceeded", name, d)}
}

func (e *timeoutError) Error() string { return e.msg }
func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }

// Timeout reports true, as net.Error does for timeouts.
func (e *timeoutError) Timeout() bool { return true }
