package alerting

import (
	"errors"
	"fmt"

	"github.com/listsync/otelmon/internal/configerr"
)

// Sentinel errors. Callers branch on them with errors.Is; the errors the
// engine returns wrap them, usually inside a *RuleError that names the rule.
var (
	// ErrInvalidRule is returned (wrapped in a *RuleError) by AddRule and
	// UpdateRule when a rule cannot be evaluated as written: an empty name, a
	// nil condition, a negative duration, a threshold that can never be met.
	ErrInvalidRule = errors.New("alerting: invalid rule")
	// ErrDuplicateRule is returned (wrapped in a *RuleError) by AddRule when a
	// rule of the same name is already registered. Rules are never silently
	// replaced; use UpdateRule to change one.
	ErrDuplicateRule = errors.New("alerting: duplicate rule name")
	// ErrRuleNotFound is returned by RemoveRule and UpdateRule for a name
	// that is not registered.
	ErrRuleNotFound = errors.New("alerting: rule not found")
	// ErrNotBucketBoundary is returned (wrapped in a *RuleError) when a
	// SlowOperation threshold is not one of the histogram's bucket
	// boundaries: by AddRule when the histogram has already been read, by
	// Evaluate otherwise.
	ErrNotBucketBoundary = errors.New("alerting: threshold is not a histogram bucket boundary")
	// ErrUnsupportedInstrument is returned (wrapped in a *RuleError) by
	// Evaluate when a rule's instrument has a kind its condition cannot read,
	// e.g. a SlowOperation on a gauge.
	ErrUnsupportedInstrument = errors.New("alerting: instrument kind not supported by the condition")

	// ErrAlertNotFound is returned by Acknowledge for an id the engine does
	// not know (never raised, or dropped after its retention).
	ErrAlertNotFound = errors.New("alerting: alert not found")
	// ErrAlertResolved is returned by Acknowledge for an alert that has
	// already resolved.
	ErrAlertResolved = errors.New("alerting: alert already resolved")
	// ErrNotSaved is wrapped by the error of a change (an acknowledgement,
	// a silence created or expired) that could not be written to the state file. The change is not kept in
	// memory either, so what the engine shows is what survives a restart.
	ErrNotSaved = errors.New("alerting: change not saved")

	// ErrStateLocked is returned (wrapped, with the path) by New when
	// Config.StatePath is owned by another engine, in this process or
	// another: one state file has one owner, held from New until Shutdown
	// (or the owning process's death).
	ErrStateLocked = errors.New("alerting: alert state file is in use")

	// ErrDuplicateNotifier is returned by New and AddNotifier when a notifier
	// with the same Name is already registered.
	ErrDuplicateNotifier = errors.New("alerting: duplicate notifier name")
	// ErrAlreadyInstrumented is returned by a second call to Instrument.
	ErrAlreadyInstrumented = errors.New("alerting: engine already instrumented")
	// ErrShutdown is returned by Start, Evaluate, Acknowledge, AddNotifier,
	// CreateSilence, SilenceAlert and ExpireSilence after Shutdown.
	ErrShutdown = errors.New("alerting: engine shut down")

	// ErrInvalidConfig is returned (wrapped in a *ConfigError) by New when
	// a Config value is invalid, e.g. a negative duration.
	ErrInvalidConfig = errors.New("alerting: invalid config")
)

// ConfigError reports one invalid Config value. It wraps ErrInvalidConfig;
// find it with errors.As. New joins several with errors.Join.
type ConfigError struct {
	// Field is the Config field at fault, e.g. "Delivery.Timeout".
	Field string
	// Value is the offending value as text; empty when there is none.
	Value string
	// Reason says what the value must be.
	Reason string
}

// Error names the field, the value and the reason.
func (e *ConfigError) Error() string {
	return configerr.Message(ErrInvalidConfig.Error(), e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// RuleError reports what is wrong with a rule, or why it could not be
// evaluated. It wraps one of the sentinels above, so errors.Is(err,
// ErrInvalidRule) and errors.As(err, &ruleErr) both work.
type RuleError struct {
	// Rule is the rule's name (possibly empty when the name is the problem).
	Rule string
	// Field names the offending Rule or Condition field, e.g.
	// "Condition.Count"; empty when the error is about the whole rule.
	Field string
	// Reason says what is wrong in words.
	Reason string
	// Err is the sentinel (or underlying error) this error wraps.
	Err error
}

// Error describes the rule, the field and the reason.
func (e *RuleError) Error() string {
	msg := fmt.Sprintf("alerting: rule %q", e.Rule)
	if e.Field != "" {
		msg += ": " + e.Field
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Err != nil {
		msg += " (" + trimPrefix(e.Err.Error()) + ")"
	}
	return msg
}

// Unwrap returns the wrapped sentinel.
func (e *RuleError) Unwrap() error { return e.Err }

func trimPrefix(s string) string {
	const p = "alerting: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func invalid(rule, field, format string, args ...any) error {
	return &RuleError{Rule: rule, Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrInvalidRule}
}
