// Package configerr holds what every otelmon package's ConfigError shares:
// the message format, and the one rule for durations and counts (zero means
// the default, a negative value is an error, never silently defaulted).
//
// Each public package keeps its own ConfigError type, wrapping its own
// ErrInvalidConfig, so that errors.As with breaker.ConfigError or
// healthcheck.ConfigError finds that component's error even inside the
// *otelmon.ConfigError that New wraps it in.
package configerr

import (
	"fmt"
	"time"
)

// Message returns "<prefix>: <field>[ = <value>][: <reason>]".
func Message(prefix, field, value, reason string) string {
	s := prefix + ": " + field
	if value != "" {
		s += " = " + value
	}
	if reason != "" {
		s += ": " + reason
	}
	return s
}

// OrDefault replaces a zero *v by def and rejects a negative one with the
// error invalid makes of field, the value and the reason.
func OrDefault[T int | int64 | float64 | time.Duration](v *T, def T, field string, invalid func(field, value, reason string) error) error {
	switch {
	case *v < 0:
		return invalid(field, fmt.Sprint(*v), "must not be negative")
	case *v == 0:
		*v = def
	}
	return nil
}
