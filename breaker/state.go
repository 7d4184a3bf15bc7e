package breaker

import (
	"fmt"
	"strings"
	"time"
)

// State is where a breaker is in its cycle: closed → open → half-open →
// closed. The numeric values are stable and are what the state gauge exports:
// 0 closed, 1 open, 2 half-open.
type State uint8

// Breaker states.
const (
	// Closed admits every call and counts consecutive failures.
	Closed State = 0
	// Open rejects every call with [ErrOpen] until the open period ends.
	Open State = 1
	// HalfOpen admits a limited number of trial calls that decide whether
	// the breaker closes again or reopens.
	HalfOpen State = 2
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText encodes the state as its String form.
func (s State) MarshalText() ([]byte, error) {
	if s > HalfOpen {
		return nil, fmt.Errorf("breaker: invalid state %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// Mode is an operator override of a breaker's behaviour, switchable at run
// time with [Breaker.SetMode]. The zero value is ModeNormal.
type Mode uint8

// Operator modes.
const (
	// ModeNormal: the breaker admits and rejects calls as its state says.
	ModeNormal Mode = 0
	// ModeForcedOpen: every call is rejected with ErrOpen. Entering it moves
	// the breaker to Open, where it stays, whatever the open timeout, for as
	// long as the mode lasts; leaving it moves the breaker to HalfOpen, so
	// trial calls decide whether it closes.
	ModeForcedOpen Mode = 1
	// ModeDisabled: every call is admitted and no result is counted.
	// Entering it moves the breaker to Closed with its counts cleared, and
	// the breaker stays there for as long as the mode lasts.
	ModeDisabled Mode = 2
	// ModeMetricsOnly: results are counted and the state changes as in
	// ModeNormal, but no call is ever rejected. Calls that ModeNormal would
	// have rejected run and their results are not counted, so the state
	// machine sees exactly what it would have seen in ModeNormal. Use it to
	// try thresholds on live traffic.
	ModeMetricsOnly Mode = 3
)

var modeNames = [...]string{
	ModeNormal:      "normal",
	ModeForcedOpen:  "forced-open",
	ModeDisabled:    "disabled",
	ModeMetricsOnly: "metrics-only",
}

// String returns "normal", "forced-open", "disabled" or "metrics-only".
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

func (m Mode) valid() bool { return m <= ModeMetricsOnly }

// ParseMode returns the Mode whose String form is s (case-insensitive).
func ParseMode(s string) (Mode, error) {
	for m, name := range modeNames {
		if strings.EqualFold(s, name) {
			return Mode(m), nil
		}
	}
	return 0, fmt.Errorf("breaker: unknown mode %q (want normal, forced-open, disabled or metrics-only)", s)
}

// MarshalText encodes the mode as its String form, so JSON shows "disabled".
func (m Mode) MarshalText() ([]byte, error) {
	if !m.valid() {
		return nil, fmt.Errorf("breaker: invalid mode %d", uint8(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText decodes a mode from its String form.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Outcome is how a finished (or refused) call counts toward the breaker.
type Outcome uint8

// Call outcomes. The zero Outcome is not a valid outcome.
const (
	// Success resets the consecutive failure count; in half-open it counts
	// toward Config.SuccessThreshold.
	Success Outcome = iota + 1
	// Failure counts toward Config.FailureThreshold; in half-open it
	// reopens the breaker.
	Failure
	// Ignored counts neither way. The caller's own cancellation is ignored,
	// and a classifier may ignore errors such as "not found".
	Ignored
	// Rejected is a call the breaker refused without running it. A
	// classifier returning Rejected is treated as returning Failure.
	Rejected
)

// String returns "success", "failure", "ignored" or "rejected".
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignored:
		return "ignored"
	case Rejected:
		return "rejected"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Counts are the breaker's consecutive counters in its current state. Both
// are cleared on every state change.
type Counts struct {
	// ConsecutiveFailures counts failures since the last success in the
	// closed state (a failure in half-open reopens the breaker at once).
	ConsecutiveFailures uint32
	// ConsecutiveSuccesses counts successful trial calls in the half-open
	// state; in the closed state a success only clears ConsecutiveFailures.
	ConsecutiveSuccesses uint32
}

// StateChange describes one transition, as passed to the listeners set with
// [WithStateListener].
type StateChange struct {
	// Name is the breaker's name.
	Name string
	// From and To are the states before and after the transition.
	From, To State
	// Counts are the counts that led to the transition, including the
	// result that caused it, taken before the transition cleared them.
	Counts Counts
}

// Stats is a snapshot of what an observer exports, taken at one instant:
// Breaker.Stats holds the breaker's lock while it copies, never while a
// call runs. Totals count from New.
type Stats struct {
	// Name is the breaker's name.
	Name string
	// State is the current state; an open breaker whose open period has
	// ended reads HalfOpen.
	State State
	// Mode is the operator mode.
	Mode Mode
	// OpenUntil is when the open period ends and the breaker lets trial
	// calls through: set while State is Open, zero otherwise and while the
	// breaker is forced open (ModeForcedOpen holds it open for as long as
	// the mode lasts).
	OpenUntil time.Time
	// Counts are the consecutive counts of the current state.
	Counts Counts
	// Failures is the number of results counted as failures. Successes
	// are not totalled here; the caller's own request metrics count them.
	Failures uint64
	// Rejected is the number of calls refused with ErrOpen or
	// ErrTooManyRequests.
	Rejected uint64
	// Transitions[from][to] is the number of transitions between two
	// states, indexed by State values.
	Transitions [3][3]uint64
}
