package alerting

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Level is an alert's severity. The zero value is Info.
type Level int

// Alert levels, lowest first.
const (
	Info Level = iota
	Warning
	Critical
)

// String returns "info", "warning" or "critical".
func (l Level) String() string {
	switch l {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Critical:
		return "critical"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel returns the Level whose String form is s (case-insensitive).
func ParseLevel(s string) (Level, error) {
	for _, l := range []Level{Info, Warning, Critical} {
		if strings.EqualFold(s, l.String()) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("alerting: unknown level %q (want info, warning or critical)", s)
}

// MarshalText encodes the level as its String form, so JSON shows "warning".
func (l Level) MarshalText() ([]byte, error) {
	if l < Info || l > Critical {
		return nil, fmt.Errorf("alerting: invalid level %d", int(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText decodes a level from its String form.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// State is where an alert is in its lifecycle: pending → firing → resolved.
type State int

// Alert states. The zero value is Pending.
const (
	Pending State = iota
	Firing
	Resolved
)

// String returns "pending", "firing" or "resolved".
func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Firing:
		return "firing"
	case Resolved:
		return "resolved"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// ParseState returns the State whose String form is s (case-insensitive).
func ParseState(s string) (State, error) {
	for _, st := range []State{Pending, Firing, Resolved} {
		if strings.EqualFold(s, st.String()) {
			return st, nil
		}
	}
	return 0, fmt.Errorf("alerting: unknown state %q (want pending, firing or resolved)", s)
}

// MarshalText encodes the state as its String form.
func (s State) MarshalText() ([]byte, error) {
	if s < Pending || s > Resolved {
		return nil, fmt.Errorf("alerting: invalid state %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a state from its String form.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Alert is one occurrence of a rule's condition for one label set. Values of
// Alert are snapshots: the engine hands out copies, and changing one changes
// nothing in the engine.
type Alert struct {
	// ID identifies the alert: stable for a rule and label set across
	// evaluations and restarts, and URL-safe.
	ID string `json:"id"`
	// Rule is the name of the rule that raised the alert.
	Rule  string `json:"rule"`
	Level Level  `json:"level"`
	State State  `json:"state"`
	// Title is a one-line summary, e.g. "Service imdb is down".
	Title       string `json:"title"`
	Description string `json:"description"`
	// Labels are the rule's labels merged with the series' attributes
	// (source, service, ...).
	Labels map[string]string `json:"labels"`
	// Value is the reading that last satisfied (or cleared) the condition.
	Value float64 `json:"value"`

	StartsAt   time.Time  `json:"startsAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`

	Acknowledged       bool       `json:"acknowledged"`
	AcknowledgedBy     string     `json:"acknowledgedBy,omitempty"`
	AcknowledgedAt     *time.Time `json:"acknowledgedAt,omitempty"`
	AcknowledgeComment string     `json:"acknowledgeComment,omitempty"`

	// Flapping is true while the alert changes state too often; it is held
	// firing and notified once.
	Flapping bool `json:"flapping"`
	// HeldBack counts the occurrences that the rule's rate limit kept from
	// being notified since the previous notification. It is set on the
	// notification that follows them.
	HeldBack int `json:"heldBack,omitempty"`

	// SilencedBy lists the IDs of the active silences that mute the alert,
	// and MutedBy the names of the open maintenance windows that do, as of
	// its last evaluation; both empty when nothing mutes it and on a
	// resolved alert. A muted alert is notified to no one (see Silence).
	SilencedBy []string `json:"silencedBy,omitempty"`
	MutedBy    []string `json:"mutedBy,omitempty"`

	// TraceIDs are the trace ids (32 hex digits each) of the measurements
	// that raised the alert, read from the exemplars of the metric the
	// rule watches: the slow syncs of a SlowOperation, the failed syncs of
	// a consecutive-failures rule from its threshold on, the measurements
	// of a histogram rule. The newest 10 at most, oldest first; a new
	// occurrence starts afresh. Empty when the metric has no exemplars
	// (nothing traced, or an observable instrument).
	TraceIDs []string `json:"traceIds,omitempty"`
}

// MarshalJSON encodes the alert with its JSON tags; a Value that JSON
// cannot hold (NaN, ±Inf) is written as null.
func (a Alert) MarshalJSON() ([]byte, error) {
	type plain Alert // without this method
	var v any = plain(a)
	if math.IsNaN(a.Value) || math.IsInf(a.Value, 0) {
		v = struct {
			plain
			Value *float64 `json:"value"`
		}{plain: plain(a)}
	}
	// No HTML escaping here: an encoder that wants it applies it to this
	// output too, and one that does not (SetEscapeHTML(false)) keeps "<".
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
