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
	l := e.ledger
	l.mu.Lock()
	out := l.alerts.query(&f)
	l.mu.Unlock()
	sortAlerts(out)
	return out
}

// Active returns the pending and firing alerts, as Alerts(Filter{}).
func (e *Engine) Active() []Alert { return e.Alerts(Filter{}) }

// Alert returns a copy of the alert with the given ID, resolved ones
// included while they are retained.
func (e *Engine) Alert(id string) (Alert, bool) {
	l := e.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	rec, ok := l.alerts.all[id]
	if !ok {
		return Alert{}, false
	}
	return cloneAlert(rec.st.a), true
}

// CountsByLevel returns the number of firing alerts per level; every level
// is present, with 0 when none fire. Pending alerts are not counted. It
// reads counters kept by each evaluation and takes no lock.
func (e *Engine) CountsByLevel() map[Level]int {
	out := make(map[Level]int, int(Critical)+1)
	for l := Info; l <= Critical; l++ {
		out[l] = int(e.ledger.alerts.firing[l].Load())
	}
	return out
}

// Acknowledge marks a pending or firing alert as acknowledged by someone,
// with a comment, and returns the updated alert. An acknowledged alert gets
// no reminders; its acknowledgement lasts until it resolves or its level
// rises. Acknowledging again overwrites by, time and comment. It waits for
// an evaluation in progress.
//
// With Config.StatePath set the acknowledgement is saved before Acknowledge
// returns. If it cannot be saved, Acknowledge returns an error wrapping
// ErrNotSaved and the cause, and the alert is left as it was, in memory
// too: what the engine shows is what survives a restart.
//
// It returns ErrAlertNotFound for an unknown ID, ErrAlertResolved for an
// alert that has resolved, and ErrShutdown after Shutdown.
func (e *Engine) Acknowledge(id, by, comment string) (Alert, error) {
	l := e.ledger
	l.change.Lock()
	defer l.change.Unlock()
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return Alert{}, ErrShutdown
	}
	rec, ok := l.alerts.all[id]
	if !ok {
		l.mu.Unlock()
		return Alert{}, fmt.Errorf("%w: %q", ErrAlertNotFound, id)
	}
	if rec.st.a.State == Resolved {
		l.mu.Unlock()
		return Alert{}, fmt.Errorf("%w: %q", ErrAlertResolved, id)
	}
	// The acknowledged state goes into the snapshot, but becomes the
	// alert's only once saved. The change lock keeps every other change out
	// until then; queries see the alert as it was. An acknowledgement
	// changes nothing of what the notifiers were told, nor what mutes the
	// alert: no mute pass.
	prev := rec.st
	next, _, _, save := step(prev, rec.told, observation{kind: obsAck, by: by, comment: comment}, nil, e.clock.Now())
	var sf *stateFile
	if save || l.persist.retry() {
		rec.st = next
		sf = l.persist.snapshot(l.alerts.all, l.silences)
		next, rec.st = rec.st, prev
	}
	l.mu.Unlock()
	if err := l.persist.write(sf); err != nil {
		return Alert{}, fmt.Errorf("%w: acknowledgement of %q: %w", ErrNotSaved, id, err)
	}
	l.mu.Lock()
	rec.st = next
	a := cloneAlert(next.a)
	l.mu.Unlock()
	return a, nil
}
