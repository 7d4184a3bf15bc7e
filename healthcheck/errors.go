package healthcheck

import (
	"errors"
	"fmt"

	"github.com/listsync/otelmon/internal/httperr"
)

var (
	// ErrInvalidConfig is wrapped by the errors of Config.Validate and New
	// when a Config field is out of range.
	ErrInvalidConfig = errors.New("healthcheck: invalid config")

	// ErrEmptyName is returned (inside a *TargetError) by Add when the
	// target has no name.
	ErrEmptyName = errors.New("target name is empty")
	// ErrNoURL is returned (inside a *TargetError) by Add when the target has
	// no URL: the target is skipped and the reason logged. Callers usually
	// treat it as non-fatal, for example for a Plex server that the host
	// does not run.
	ErrNoURL = errors.New("no URL configured; target skipped")
	// ErrInvalidURL is wrapped (inside a *TargetError) by Add when the URL
	// does not parse or is not an absolute http or https URL.
	ErrInvalidURL = errors.New("invalid URL")
	// ErrInvalidTarget is wrapped (inside a *TargetError) by Add when a
	// field other than the name or URL is invalid: a negative Timeout, a
	// malformed Method, an expected status outside 100-599.
	ErrInvalidTarget = errors.New("invalid target")
	// ErrDuplicateTarget is returned (inside a *TargetError) by Add when a
	// target of the same name is already registered; the registered target
	// is kept.
	ErrDuplicateTarget = errors.New("duplicate target name")
	// ErrUnknownTarget is returned (inside a *TargetError) by CheckNow and
	// Remove for a name that is not registered.
	ErrUnknownTarget = errors.New("unknown target")

	// ErrClosed is returned by Start, Add, CheckNow after Shutdown.
	ErrClosed = errors.New("healthcheck: checker is shut down")

	// ErrCheckPanicked is wrapped by the Result.Err of a check whose request
	// panicked (in a RoundTripper, for example).
	ErrCheckPanicked = errors.New("health check panicked")
)

// TargetError is returned by the methods that take a target or its name. Err
// is, or wraps, one of ErrEmptyName, ErrNoURL, ErrInvalidURL,
// ErrInvalidTarget, ErrDuplicateTarget and ErrUnknownTarget; match it with
// errors.Is. Its message never contains a secret of the target's URL.
type TargetError struct {
	// Name is the target's name (may be empty).
	Name string
	// Err is the reason.
	Err error
}

// Error returns "healthcheck: target <name>: <reason>".
func (e *TargetError) Error() string {
	return fmt.Sprintf("healthcheck: target %q: %v", e.Name, e.Err)
}

// Unwrap returns e.Err.
func (e *TargetError) Unwrap() error { return e.Err }

// StatusError is the Result.Err of a check whose response status was not one
// the target accepts. It is the same type as alerting.StatusError and
// otelmon.StatusError; a probe leaves its Delay zero.
type StatusError = httperr.StatusError
