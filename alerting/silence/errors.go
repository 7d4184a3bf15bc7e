package silence

import (
	"errors"
	"fmt"
)

// Sentinel errors. The errors the package returns wrap them, most inside
// an *Error or a *FieldError. Their text is the one package alerting has
// always given them: alerting re-exports them (alerting.ErrInvalidSilence
// is ErrInvalid).
var (
	// ErrInvalid is wrapped by the *Error Store.Create returns for a
	// silence that cannot be kept as written: no matchers, a regular
	// expression that does not compile, a matcher name or value with a
	// control or invisible formatting character, an end before the start
	// or in the past, longer than Config.MaxDuration, a start further
	// ahead than Config.MaxDuration.
	ErrInvalid = errors.New("alerting: invalid silence")
	// ErrNotFound is returned by Store.Expire for an ID the store does
	// not know (never created, or dropped after its retention).
	ErrNotFound = errors.New("alerting: silence not found")
	// ErrTooMany is wrapped by the *Error Store.Create returns when
	// Config.MaxSilences silences are pending or active.
	ErrTooMany = errors.New("alerting: too many silences")
	// ErrTooLarge is wrapped by the *Error Store.Create returns for a
	// silence beyond one of the bounds of Config on its size: MaxSize,
	// MaxMatchers, MaxRegexLength or MaxRegexMemory, which the error's
	// Limit names.
	ErrTooLarge = errors.New("alerting: silence too large")
	// ErrInvalidWindow is wrapped by the *FieldErrors NewWindow returns
	// for a maintenance window that cannot be kept as written.
	ErrInvalidWindow = errors.New("alerting: invalid maintenance window")
)

// Error reports what is wrong with a silence. It wraps ErrInvalid,
// ErrTooLarge or ErrTooMany; several are joined with errors.Join.
type Error struct {
	// Field is the Silence field at fault, e.g. "endsAt" or
	// "matchers[1].value"; empty when the error is about the whole silence.
	Field string
	// Reason says what is wrong in words.
	Reason string
	// Limit is the Config field whose bound the silence exceeds, e.g.
	// "MaxRegexLength"; empty when no bound is at fault.
	Limit string
	// Err is the sentinel this error wraps.
	Err error
}

// Error names the field, the reason and the limit.
func (e *Error) Error() string {
	msg := e.Err.Error()
	if e.Field != "" {
		msg += ": " + e.Field
	}
	return msg + ": " + e.Reason + e.limitSuffix()
}

// ReasonWithLimit returns Reason followed by the limit at fault, if any,
// as " (SilenceConfig.MaxRegexLength)": Config is SilenceConfig in
// alerting.Config and otelmon.Config, where users set it.
func (e *Error) ReasonWithLimit() string { return e.Reason + e.limitSuffix() }

func (e *Error) limitSuffix() string {
	if e.Limit == "" {
		return ""
	}
	return " (SilenceConfig." + e.Limit + ")"
}

// Unwrap returns the wrapped sentinel.
func (e *Error) Unwrap() error { return e.Err }

func invalid(field, format string, args ...any) error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

func tooLarge(field, limit, format string, args ...any) error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, args...), Limit: limit, Err: ErrTooLarge}
}

// FieldError reports one invalid value of a MaintenanceWindow, named
// relative to it, e.g. "TimeIntervals[0].Times[1].End". It wraps
// ErrInvalidWindow; NewWindow joins several with errors.Join.
type FieldError struct {
	// Field is the field at fault, relative to the window.
	Field string
	// Value is the offending value as text; empty when there is none.
	Value string
	// Reason says what is wrong.
	Reason string
}

// Error names the field, the value and the reason.
func (e *FieldError) Error() string {
	msg := ErrInvalidWindow.Error() + ": " + e.Field
	if e.Value != "" {
		msg += " " + e.Value
	}
	return msg + ": " + e.Reason
}

// Unwrap returns ErrInvalidWindow.
func (e *FieldError) Unwrap() error { return ErrInvalidWindow }

// prefixed returns errs with prefix added to their fields.
func prefixed(prefix string, errs []*FieldError) []*FieldError {
	for _, fe := range errs {
		fe.Field = prefix + fe.Field
	}
	return errs
}
