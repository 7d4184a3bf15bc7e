package alerting

import (
	"fmt"
	"slices"
)

// Filter selects alerts for Alerts. The zero value selects every active
// (pending or firing) alert.
type Filter struct {
	// Levels keeps alerts of these levels; empty keeps every level.
	Levels []Level
	// States keeps alerts in these states; empty keeps pending and firing
	// ones (and resolved ones if IncludeResolved is set).
	States []State
	// IncludeResolved adds resolved alerts (still within their retention)
	// to the selection when States is empty; with States set, States
	// decides alone.
	IncludeResolved bool
	// Rule keeps the alerts of the named rule; empty keeps every rule.
	Rule string
}

func (f *Filter) match(a *Alert) bool {
	if len(f.Levels) > 0 && !slices.Contains(f.Levels, a.Level) {
		return false
	}
	if f.Rule != "" && a.Rule != f.Rule {
		return false
	}
	if len(f.States) > 0 {
		return slices.Contains(f.States, a.State)
	}
	return a.State != Resolved || f.IncludeResolved
}

// Alerts returns copies of the alerts f selects: active ones before
// resolved ones, then most severe first, then newest first, then by ID.
func (e *Engine) Alerts(f Filter) []Alert {
	e.mu.Lock()
	out := make([]Alert, 0, len(e.active))
	for _, st := range e.alerts {
		if f.match(&st.a) {
			out = append(out, cloneAlert(st.a))
		}
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b Alert) int {
		if ar, br := a.State == Resolved, b.State == Resolved; ar != br {
			if ar {
				return 1
			}
			return -1
		}
		if a.Level != b.Level {
			return int(b.Level - a.Level)
		}
		if c := b.StartsAt.Compare(a.StartsAt); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return out
}

// Active returns the pending and firing alerts, as Alerts(Filter{}).
func (e *Engine) Active() []Alert { return e.Alerts(Filter{}) }

// Alert returns a copy of the alert with the given ID, resolved ones
// included while they are retained.
func (e *Engine) Alert(id string) (Alert, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.alerts[id]
	if !ok {
		return Alert{}, false
	}
	return cloneAlert(st.a), true
}

// CountsByLevel returns the number of firing alerts per level; every level
// is present, with 0 when none fire. Pending alerts are not counted. It
// reads counters kept by each evaluation and takes no lock.
func (e *Engine) CountsByLevel() map[Level]int {
	out := make(map[Level]int, int(Critical)+1)
	for l := Info; l <= Critical; l++ {
		out[l] = int(e.firing[l].Load())
	}
	return out
}

// Acknowledge marks a pending or firing alert as acknowledged by someone,
// with a comment, and returns the updated alert. An acknowledged alert gets
// no reminders; its acknowledgement lasts until it resolves or its level
// rises. Acknowledging again overwrites by, time and comment. It returns
// ErrAlertNotFound for an unknown ID and ErrAlertResolved for an alert that
// has resolved. With Config.StatePath set the acknowledgement is saved
// before Acknowledge returns (a failure to save is logged).
func (e *Engine) Acknowledge(id, by, comment string) (Alert, error) {
	e.mu.Lock()
	st, ok := e.alerts[id]
	if !ok {
		e.mu.Unlock()
		return Alert{}, fmt.Errorf("%w: %q", ErrAlertNotFound, id)
	}
	if st.a.State == Resolved {
		e.mu.Unlock()
		return Alert{}, fmt.Errorf("%w: %q", ErrAlertResolved, id)
	}
	now := e.clock.Now()
	st.a.Acknowledged = true
	st.a.AcknowledgedBy = by
	st.a.AcknowledgedAt = &now
	st.a.AcknowledgeComment = comment
	st.a.UpdatedAt = now
	a := cloneAlert(st.a)
	job := e.saveJobLocked(true)
	e.mu.Unlock()
	e.persist(job)
	return a, nil
}
