package alerting

import (
	"maps"
	"slices"
	"time"
)

// This file is the alert lifecycle as a pure state machine, in the manner
// of Prometheus' rules.AlertingRule.Eval: step takes one alert's state,
// what the notifiers were told of it, what an evaluation (or a person)
// observed, the rule's settings and the time, and returns the next state
// with the notifications to send. It does no I/O, takes no lock, reads no
// clock, and knows nothing of silences: it decides its notices as if
// nothing were muted, and the mute pass (mute.go) decides which of them
// reach the notifiers. The engine owns the states and applies the results
// (see alertTable.apply).

// alertState is one alert's lifecycle state (one rule and label set): the
// public Alert plus what its transitions need. It is a value: step returns
// a new one and never changes the slices or maps of the one it is given.
// An alert that fires again after resolving keeps its ID and its flap
// history.
type alertState struct {
	a     Alert
	fresh bool // no occurrence yet: created for the observation being stepped
	gone  bool // a pending alert cleared with no earlier occurrence: forget it

	lastSeen   time.Time // last time the condition held
	savedSeen  time.Time // lastSeen as last saved to the state file
	clearCount int       // consecutive clear observations

	transitions []time.Time // recent fire and resolve decisions, for flap detection
	flapping    bool
	heldFiring  bool // flapping kept it firing though its condition cleared

	prev *Alert // the resolved alert a pending one replaced, restored if it clears
}

// obsKind is what an observation says.
type obsKind uint8

const (
	obsHold       obsKind = iota // the condition holds on the series
	obsClear                     // the condition is clear on the series
	obsKeep                      // leave a firing alert as it is (CircuitOpen half-open); otherwise clear
	obsGone                      // no reading: the series (or its rule's data) is gone
	obsRetire                    // the rule was removed or disabled
	obsRuleChange                // the rule was updated: level, description
	obsAck                       // someone acknowledged the alert
	obsMute                      // the silences changed: nothing for the lifecycle, all for the mute pass
)

// observation is one input of the state machine.
type observation struct {
	kind    obsKind
	value   float64           // the reading (obsHold, obsClear, obsKeep)
	labels  map[string]string // the series' attributes (obsHold)
	traces  []string          // trace ids of the measurements behind it (obsHold)
	by      string            // obsAck
	comment string            // obsAck
}

// notice is a notification decided by a step, or by the mute pass.
type notice struct {
	a     Alert
	order int // rule order, set by the engine for a deterministic delivery order
	// flap marks the one firing notice of a flapping alert: once it is
	// delivered, no other is sent while the alert flaps.
	flap bool
	// forget, set by the mute pass only, marks a notice that is not
	// delivered: the notifiers it names drop the alert from what they know
	// is firing, because its resolution will not be sent (it is muted).
	forget forgetKind
}

// step is the lifecycle: pending → firing → resolved, with
// acknowledgement, hysteresis (For, ResolveAfterClear), flapping, the rate
// limit and its held-back count, and the auto-resolve hold-down. It reads
// what the notifiers were told (tl) for the rate limit, reminders, the
// flapping notice and whether a resolution is due, and returns the next
// state and record, the notifications to send, and whether the change must
// be saved to the state file. The record it returns has what the step
// changes of it (held-back firings, a new occurrence, the end of
// flapping), not the delivery of its notices, which the mute pass records
// (told.delivered). r may be nil for obsRetire, obsAck and obsMute only.
func step(st alertState, tl told, obs observation, r *ruleView, now time.Time) (alertState, told, []notice, bool) {
	m := machine{st: st, tl: tl, r: r, now: now}
	switch obs.kind {
	case obsHold:
		m.hold(obs.value, obs.labels, obs.traces)
	case obsClear:
		m.clear(obs.value, true)
	case obsKeep:
		if m.st.a.State == Firing {
			m.st.a.Value = obs.value
		} else {
			m.clear(obs.value, true)
		}
	case obsGone:
		m.clear(0, false)
	case obsRetire:
		m.retire()
	case obsRuleChange:
		m.ruleChanged()
	case obsAck:
		m.acknowledge(obs.by, obs.comment)
	}
	return m.st, m.tl, m.notices, m.save
}

// machine is one step in progress.
type machine struct {
	st      alertState
	tl      told
	r       *ruleView
	now     time.Time
	notices []notice
	save    bool
}

// hold applies a "condition holds" observation. traces are the trace ids
// of the measurements behind it: a new occurrence starts its TraceIDs with
// them, a pending or firing alert adds them to its own.
func (m *machine) hold(v float64, labels map[string]string, traces []string) {
	st, r := &m.st, m.r
	st.clearCount = 0
	st.lastSeen = m.now
	st.a.Value = v
	if r.autoResolveAfter > 0 && st.a.State == Firing && m.now.Sub(st.savedSeen) >= r.autoResolveAfter/10 {
		// Keep the saved lastSeen current enough for the hold-down: within a
		// tenth of it, without rewriting the state file at every evaluation.
		m.save = true
	}
	switch st.a.State {
	case Resolved:
		st.a.Level = r.level
		st.a.Description = r.description
		st.a.Labels = mergeLabels(labels, r.labels)
		if r.forDur > 0 {
			if !st.fresh {
				prev := st.a
				st.prev = &prev
			}
			st.a.TraceIDs = mergeTraceIDs(nil, traces)
			st.a.State = Pending
			st.a.StartsAt = m.now
			st.a.UpdatedAt = m.now
			st.a.ResolvedAt = nil
			st.a.Title = r.title(st.a.Labels, v)
			clearAck(&st.a)
			m.save = true
		} else {
			st.a.TraceIDs = mergeTraceIDs(nil, traces)
			m.fire()
		}
		st.fresh = false
	case Pending:
		m.addTraces(traces)
		// The title states the value observed now.
		st.a.Title = r.title(st.a.Labels, v)
		if m.now.Sub(st.a.StartsAt) >= r.forDur {
			m.fire()
		}
	case Firing:
		m.addTraces(traces)
		// The title states the value observed now.
		st.a.Title = r.title(st.a.Labels, v)
		if st.heldFiring { // back after a clear that flapping held
			st.heldFiring = false
			m.transition()
			m.save = true
		}
		m.flapEnd()
		m.repeat()
	}
}

// addTraces adds trace ids to the alert's, to be saved.
func (m *machine) addTraces(traces []string) {
	if ids := mergeTraceIDs(m.st.a.TraceIDs, traces); !slices.Equal(ids, m.st.a.TraceIDs) {
		m.st.a.TraceIDs = ids
		m.save = true
	}
}

// clear applies a "condition clear" observation; hasValue is false when
// the series is gone.
func (m *machine) clear(v float64, hasValue bool) {
	st, r := &m.st, m.r
	if hasValue {
		st.a.Value = v
	}
	switch st.a.State {
	case Pending:
		m.revert()
	case Firing:
		st.clearCount++
		if st.heldFiring {
			m.flapEnd()
			return
		}
		if st.clearCount < r.resolveAfterClear {
			return
		}
		if m.now.Sub(st.lastSeen) < r.autoResolveAfter {
			return
		}
		m.transition()
		if st.flapping {
			st.heldFiring = true
			m.save = true
			if !m.tl.flapNotified {
				m.sendFiring(true)
			}
			return
		}
		m.resolve()
	}
}

// fire moves a pending, resolved or fresh alert to Firing and notifies it,
// subject to the rate limit.
func (m *machine) fire() {
	st, r := &m.st, m.r
	wasPending := st.a.State == Pending
	st.a.State = Firing
	st.a.StartsAt = m.now
	st.a.UpdatedAt = m.now
	st.a.ResolvedAt = nil
	st.a.Title = r.title(st.a.Labels, st.a.Value)
	if !wasPending {
		// A new occurrence; an acknowledgement given while it was pending
		// carries over into firing.
		clearAck(&st.a)
	}
	st.prev = nil
	m.tl.notified = false
	st.clearCount = 0
	m.save = true
	m.transition()
	if st.flapping {
		if !m.tl.flapNotified {
			m.sendFiring(true)
		}
		return
	}
	if r.rateLimit > 0 && !m.tl.lastNotified.IsZero() && m.now.Sub(m.tl.lastNotified) < r.rateLimit {
		m.tl.heldBack++
		return
	}
	m.sendFiring(false)
}

// repeat sends the reminders of a firing alert: a firing held back by the
// rate limit once the limit has passed, and, with a rate limit, a reminder
// every RateLimit while the alert is not acknowledged.
func (m *machine) repeat() {
	st, r := &m.st, m.r
	if st.a.Acknowledged || st.flapping || r.rateLimit <= 0 {
		return
	}
	if m.now.Sub(m.tl.lastNotified) >= r.rateLimit {
		m.sendFiring(false)
	}
}

// resolve moves a firing alert to Resolved, notifying it if its firing was
// notified.
func (m *machine) resolve() {
	st := &m.st
	st.a.State = Resolved
	t := m.now
	st.a.ResolvedAt = &t
	st.a.UpdatedAt = m.now
	st.a.Flapping = false
	st.flapping, st.heldFiring = false, false
	m.tl.flapNotified = false
	st.clearCount = 0
	m.save = true
	if m.tl.notified {
		m.tl.notified = false
		a := cloneAlert(st.a)
		a.HeldBack = 0
		m.notices = append(m.notices, notice{a: a})
	}
}

// retire ends an alert whose rule is gone or disabled: a firing one
// resolves, a pending one is dropped.
func (m *machine) retire() {
	switch m.st.a.State {
	case Pending:
		m.revert()
	case Firing:
		m.resolve()
	}
}

// revert drops a pending alert whose condition cleared before it fired,
// restoring the resolved alert it replaced, if any.
func (m *machine) revert() {
	st := &m.st
	m.save = true
	if st.prev != nil {
		st.a = *st.prev
		st.prev = nil
		return
	}
	st.gone = true
}

// ruleChanged applies an updated rule to an active alert: a level rise
// clears the acknowledgement and notifies a firing alert at once, whatever
// the rate limit.
func (m *machine) ruleChanged() {
	st, r := &m.st, m.r
	switch {
	case r.level > st.a.Level:
		st.a.Level = r.level
		st.a.Description = r.description
		clearAck(&st.a)
		st.a.UpdatedAt = m.now
		if st.a.State == Firing {
			m.sendFiring(false)
		}
		m.save = true
	case st.a.Level != r.level || st.a.Description != r.description:
		st.a.Level = r.level
		st.a.Description = r.description
		m.save = true
	}
}

// acknowledge marks a pending or firing alert acknowledged; acknowledging
// again overwrites by, time and comment. A resolved alert is left alone.
func (m *machine) acknowledge(by, comment string) {
	st := &m.st
	if st.a.State == Resolved {
		return
	}
	now := m.now
	st.a.Acknowledged = true
	st.a.AcknowledgedBy = by
	st.a.AcknowledgedAt = &now
	st.a.AcknowledgeComment = comment
	st.a.UpdatedAt = now
	m.save = true
}

// sendFiring decides a firing notification; flap marks the flapping
// alert's one notice.
func (m *machine) sendFiring(flap bool) {
	n := firingNotice(&m.st, &m.tl, m.r)
	n.flap = flap
	m.save = true
	m.notices = append(m.notices, n)
}

// firingNotice returns the alert's firing notice, carrying the held-back
// count, with its title (the state's too) stating the value observed.
func firingNotice(st *alertState, tl *told, r *ruleView) notice {
	st.a.Title = r.title(st.a.Labels, st.a.Value)
	a := cloneAlert(st.a)
	a.HeldBack = tl.heldBack
	return notice{a: a}
}

// transition records a fire or resolve decision for flap detection and
// marks the alert flapping when there were too many. It copies the
// transitions, leaving the input state's slice as it was.
func (m *machine) transition() {
	st, r := &m.st, m.r
	if r.flapChanges <= 0 {
		return
	}
	cut := m.now.Add(-r.flapWindow)
	kept := make([]time.Time, 0, len(st.transitions)+1)
	for _, t := range st.transitions {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	kept = append(kept, m.now)
	if n := len(kept); n > r.flapChanges+1 {
		kept = kept[n-r.flapChanges-1:]
	}
	st.transitions = kept
	if len(st.transitions) > r.flapChanges && !st.flapping {
		st.flapping = true
		m.tl.flapNotified = false
		st.a.Flapping = true
	}
}

// flapEnd ends flapping once the alert has made no change for a whole flap
// window; an alert held firing by flapping then resolves.
func (m *machine) flapEnd() {
	st, r := &m.st, m.r
	if !st.flapping || len(st.transitions) == 0 || m.now.Sub(st.transitions[len(st.transitions)-1]) < r.flapWindow {
		return
	}
	st.flapping = false
	m.tl.flapNotified = false
	st.a.Flapping = false
	st.transitions = nil
	m.save = true
	if st.heldFiring {
		st.heldFiring = false
		m.resolve()
	}
}

func clearAck(a *Alert) {
	a.Acknowledged = false
	a.AcknowledgedBy = ""
	a.AcknowledgedAt = nil
	a.AcknowledgeComment = ""
}

// mergeLabels returns the series' attributes overlaid with the rule's
// labels, as Prometheus does for alerting rules.
func mergeLabels(series, rule map[string]string) map[string]string {
	out := make(map[string]string, len(series)+len(rule))
	maps.Copy(out, series)
	maps.Copy(out, rule)
	return out
}
