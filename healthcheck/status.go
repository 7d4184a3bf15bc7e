package healthcheck

import (
	"fmt"
	"time"
)

// Status is a service's health as the Checker sees it. The zero value is
// Unknown.
type Status int

// Statuses. See the package documentation for how a service moves between
// them.
const (
	// Unknown: no check has decided the service's status yet.
	Unknown Status = iota
	// Up: the service answers as expected.
	Up
	// Down: the service failed FailureThreshold consecutive checks and has
	// not yet passed RecoveryThreshold consecutive checks since.
	Down
)

// String returns "unknown", "up" or "down".
func (s Status) String() string {
	switch s {
	case Unknown:
		return "unknown"
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText encodes the status as its String form, so JSON shows "up".
func (s Status) MarshalText() ([]byte, error) {
	if s < Unknown || s > Down {
		return nil, fmt.Errorf("healthcheck: invalid status %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a status from its String form.
func (s *Status) UnmarshalText(b []byte) error {
	for _, v := range []Status{Unknown, Up, Down} {
		if string(b) == v.String() {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("healthcheck: unknown status %q (want unknown, up or down)", b)
}

// Result is the outcome of one check of one target.
type Result struct {
	// Target is the target's name.
	Target string
	// Status is the target's status after this result was counted, or its
	// unchanged status when the result was not counted (its caller gave up).
	Status Status
	// OK reports whether the check succeeded.
	OK bool
	// StatusCode is the HTTP status received, 0 when no response arrived.
	StatusCode int
	// Latency is the time from sending the request to receiving the response
	// headers, or to the failure.
	Latency time.Duration
	// Time is when the check started.
	Time time.Time
	// Err says why the check failed; nil when OK. URLs in it are redacted.
	// Match it with errors.Is and errors.As: *StatusError for an unaccepted
	// status (a 5xx, or by Target.ExpectedStatus), context.DeadlineExceeded for a timeout, ErrCheckPanicked, or
	// the transport's error.
	Err error
}

// Transition is a change of a service's status, given to listeners.
type Transition struct {
	// Target is the target's name.
	Target string
	// From and To are the statuses before and after.
	From, To Status
	// Result is the check that caused the change.
	Result Result
}
