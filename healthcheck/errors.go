package healthcheck

import (
	"errors"
	"fmt"

	"github.com/listsync/otelmon/internal/configerr"
	"github.com/listsync/otelmon/internal/httperr"
)

var (
	// ErrInvalidConfig is wrapped by every *ConfigError: returned by New and
	// Config.Validate for a Config field out of range, and by Add (inside a
	// *TargetError) for a Target field that cannot be used.
	ErrInvalidConfig = errors.New("invalid health check config")

	// ErrNoURL is returned (inside a *TargetError) by Add when the target has
	// no URL: the target is skipped and the reason logged. Callers usually
	// treat it as non-fatal, for example for a Plex server that the host
	// does not run.
	ErrNoURL = errors.New("no URL configured; target skipped")
	// ErrDuplicateTarget is returned (inside a *TargetError) by Add when a
	// target of the same name is already registered; the registered target
	// is kept.
	ErrDuplicateTarget = errors.New("duplicate target name")
	// ErrUnknownTarget is returned (inside a *TargetError) by CheckNow and
	// Remove for a name that is not registered.
	ErrUnknownTarget = errors.New("unknown target")

	// ErrShutdown is returned by Start, Add and CheckNow after Shutdown, and
	// by CheckNow for a check that Shutdown cancelled.
	ErrShutdown = errors.New("healthcheck: checker is shut down")

	// ErrCheckPanicked is wrapped by the Result.Err of a check whose request
	// panicked (in a RoundTripper, for example).
	ErrCheckPanicked = errors.New("health check panicked")
)

var (
	_ error = (*ConfigError)(nil)
	_ error = (*TargetError)(nil)
)

// ConfigError reports one invalid value of a Config or a Target. It wraps
// ErrInvalidConfig; find it with errors.As. Zero values are never invalid:
// they mean the default.
type ConfigError struct {
	// Field is the field at fault: a Config field ("CheckInterval") or a
	// Target field ("Target.Timeout").
	Field string
	// Value is the offending value as text, with a URL's secrets masked;
	// empty when there is none.
	Value string
	// Reason says what the value must be.
	Reason string
}

// Error returns "invalid health check config: <Field>[ = <Value>]:
// <Reason>".
func (e *ConfigError) Error() string {
	return configerr.Message(ErrInvalidConfig.Error(), e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// TargetError is returned by the methods that take a target or its name. Err
// is a *ConfigError for a Target field Add cannot use, or one of ErrNoURL,
// ErrDuplicateTarget and ErrUnknownTarget; match it with errors.As or
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
// the target accepts: a 5xx by default, or any status Target.ExpectedStatus
// does not list. It is the same type as alerting.StatusError and
// otelmon.StatusError; a probe leaves its Delay zero.
type StatusError = httperr.StatusError
