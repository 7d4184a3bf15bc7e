package alerting

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/listsync/otelmon/alerting/silence"
	"github.com/listsync/otelmon/internal/names"
)

// This file is the alert lifecycle as a pure state machine, in the manner
// of Prometheus' rules.AlertingRule.Eval: step takes one alert's state, what
// an evaluation (or a person) observed, the rule's settings and the time,
// and returns the next state with the notifications to send. It does no
// I/O, takes no lock and reads no clock; the engine owns the states and
// applies the results (see alertTable.apply).

// alertState is one alert's lifecycle state (one rule and label set): the
// public Alert plus what its transitions need. It is a value: step returns
// a new one and never changes the slices or maps of the one it is given.
// An alert that fires again after resolving keeps its ID, its rate-limit
// bookkeeping and its flap history.
type alertState struct {
	a     Alert
	fresh bool // no occurrence yet: created for the observation being stepped
	gone  bool // a pending alert cleared with no earlier occurrence: forget it

	lastSeen     time.Time // last time the condition held
	savedSeen    time.Time // lastSeen as last saved to the state file
	clearCount   int       // consecutive clear observations
	lastNotified time.Time // last firing notification
	notified     bool      // a firing notification was sent for the current firing
	heldBack     int       // firings held back by the rate limit since lastNotified

	// owed is set while a mute keeps the current firing from the
	// notifiers: once nothing mutes it and it still fires, they get it
	// once, at the first step with its rule.
	owed bool
	// kept is set while a firing alert whose firing was notified is
	// muted: the Resenders that know it keep getting its resends (nothing
	// else), until it resolves or a firing notice is sent again. It is the
	// alert as they last heard of it, so that a level or label changed
	// under the mute is not resent as a new alert (for Alertmanager, whose
	// identity of an alert is its labels). Never changed in place.
	kept *Alert

	transitions  []time.Time // recent fire and resolve decisions, for flap detection
	flapping     bool
	flapNotified bool
	heldFiring   bool // flapping kept it firing though its condition cleared

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
	obsMute                      // the silences changed: only what mutes the alert may change
)

// observation is one input of the state machine.
type observation struct {
	kind    obsKind
	value   float64           // the reading (obsHold, obsClear, obsKeep)
	labels  map[string]string // the series' attributes (obsHold)
	traces  []string          // trace ids of the measurements behind it (obsHold)
	by      string            // obsAck
	comment string            // obsAck
	// mute says what mutes alerts now; nil leaves the alert's muting as
	// it was (see machine.applyMute).
	mute *silence.Mutes
}

// ruleView is what the lifecycle reads of a rule, resolved once per rule.
type ruleView struct {
	level             Level
	description       string
	labels            map[string]string
	forDur            time.Duration
	rateLimit         time.Duration
	autoResolveAfter  time.Duration
	resolveAfterClear int // at least 1
	flapChanges       int // 0: no flap detection
	flapWindow        time.Duration
	title             func(labels map[string]string, value float64) string
}

func newRuleView(r *Rule, c *compiled) ruleView {
	return ruleView{
		level:             r.Level,
		description:       r.Description,
		labels:            r.Labels,
		forDur:            r.For,
		rateLimit:         r.RateLimit,
		autoResolveAfter:  r.AutoResolveAfter,
		resolveAfterClear: max(1, r.ResolveAfterClear),
		flapChanges:       r.Flap.Changes,
		flapWindow:        r.Flap.window(),
		title: func(labels map[string]string, v float64) string {
			return title(r, c, labels, v)
		},
	}
}

// notice is a notification decided by a step.
type notice struct {
	a     Alert
	order int // rule order, set by the engine for a deterministic delivery order
	// forget, when set, marks a notice that is not delivered: the notifiers
	// it names drop the alert from what they know is firing, because its
	// resolution will not be sent (it is muted).
	forget forgetKind
}

// forgetKind says which notifiers a forget notice is for.
type forgetKind uint8

const (
	_ forgetKind = iota // zero: a notification to deliver
	// forgetUnlessResending: the alert fires, muted; Resenders keep it and
	// its resends, the other notifiers drop it.
	forgetUnlessResending
	// forgetAll: the alert resolved while muted; every notifier drops it.
	forgetAll
)

// step is the lifecycle: pending → firing → resolved, with
// acknowledgement, hysteresis (For, ResolveAfterClear), flapping, the rate
// limit and its held-back count, and the auto-resolve hold-down. It returns
// the next state, the notifications to send, and whether the change must be
// saved to the state file. r may be nil for obsRetire and obsAck only.
func step(st alertState, obs observation, r *ruleView, now time.Time) (alertState, []notice, bool) {
	m := machine{st: st, r: r, now: now}
	wasNotified := st.notified
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
	if obs.mute != nil {
		m.applyMute(obs.mute, wasNotified)
	}
	return m.st, m.notices, m.save
}

// applyMute sets what mutes the alert now and keeps every notice of a
// muted alert from the notifiers: its firing, reminders and resolution. A
// firing notice dropped that way does not count: the rate limit, the
// held-back count and the flapping notice are as if it had not been
// decided. The notifiers told of its firing before (wasNotified) get a
// forget notice instead, since they will not hear of its resolution;
// Resenders among them keep getting its resends while it is muted and
// fires (kept), and drop it when it resolves. An alert that is no
// longer muted and still fires is notified once, whatever the rate limit,
// at the first step that has its rule (owed); one that resolved while
// muted is not. A resolved alert lists nothing that mutes it.
func (m *machine) applyMute(ms *silence.Mutes, wasNotified bool) {
	st := &m.st
	if st.gone {
		return
	}
	sil, mw := ms.Of((*alertLabels)(&st.a))
	listSil, listMw := sil, mw
	if st.a.State == Resolved {
		listSil, listMw = nil, nil // muted all the same, but listed as nothing
	}
	if !slices.Equal(listSil, st.a.SilencedBy) || !slices.Equal(listMw, st.a.MutedBy) {
		st.a.SilencedBy, st.a.MutedBy = listSil, listMw
		m.save = true
	}
	firing := st.a.State == Firing
	if sil != nil || mw != nil {
		keep := firing && (wasNotified || st.kept != nil)
		if m.notices != nil || st.notified || (st.kept != nil) != keep || st.owed != firing {
			m.save = true
		}
		if m.undo != nil {
			st.lastNotified, st.heldBack, st.flapNotified = m.undo.lastNotified, m.undo.heldBack, m.undo.flapNotified
		}
		m.notices = nil
		switch told := wasNotified || st.kept != nil; {
		case told && firing:
			if wasNotified {
				m.notices = []notice{{a: Alert{ID: st.a.ID}, forget: forgetUnlessResending}}
			}
		case told:
			m.notices = []notice{{a: Alert{ID: st.a.ID}, forget: forgetAll}}
		}
		switch {
		case !keep:
			st.kept = nil
		case st.kept == nil:
			k := cloneAlert(st.a)
			k.SilencedBy, k.MutedBy = nil, nil
			st.kept = &k
		}
		st.notified, st.owed = false, firing
		return
	}
	for i := range m.notices {
		m.notices[i].a.SilencedBy, m.notices[i].a.MutedBy = nil, nil
	}
	if !firing {
		if st.kept != nil {
			// Resolved as the mute ended: the Resenders drop it too.
			m.notices = append(m.notices, notice{a: Alert{ID: st.a.ID}, forget: forgetAll})
		}
		m.clearMuteDebt()
		return
	}
	if st.owed && !st.notified {
		if m.r == nil {
			return // owed until a step with its rule
		}
		m.sendFiring()
		if st.flapping {
			st.flapNotified = true
		}
	}
	m.clearMuteDebt()
}

// clearMuteDebt ends what a mute left to do: the firing notice owed and
// the Resenders' keep-alive.
func (m *machine) clearMuteDebt() {
	st := &m.st
	if st.owed || st.kept != nil {
		st.owed, st.kept = false, nil
		m.save = true
	}
}

// sendUndo is what a step's first firing notice changed in the rate-limit
// and flapping bookkeeping, restored if the notice is dropped (muted).
type sendUndo struct {
	lastNotified time.Time
	heldBack     int
	flapNotified bool
}

// machine is one step in progress.
type machine struct {
	st      alertState
	r       *ruleView
	now     time.Time
	notices []notice
	save    bool
	undo    *sendUndo // set by the step's first sendFiring
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
			if !st.flapNotified {
				m.sendFiring()
				st.flapNotified = true
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
	st.notified = false
	st.clearCount = 0
	m.save = true
	m.transition()
	if st.flapping {
		if !st.flapNotified {
			m.sendFiring()
			st.flapNotified = true
		}
		return
	}
	if r.rateLimit > 0 && !st.lastNotified.IsZero() && m.now.Sub(st.lastNotified) < r.rateLimit {
		st.heldBack++
		return
	}
	m.sendFiring()
}

// repeat sends the reminders of a firing alert: a firing held back by the
// rate limit once the limit has passed, and, with a rate limit, a reminder
// every RateLimit while the alert is not acknowledged.
func (m *machine) repeat() {
	st, r := &m.st, m.r
	if st.a.Acknowledged || st.flapping || r.rateLimit <= 0 {
		return
	}
	if m.now.Sub(st.lastNotified) >= r.rateLimit {
		m.sendFiring()
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
	st.flapping, st.flapNotified, st.heldFiring = false, false, false
	st.clearCount = 0
	m.save = true
	if st.notified {
		st.notified = false
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
			m.sendFiring()
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

// sendFiring decides a firing notification carrying the held-back count.
func (m *machine) sendFiring() {
	st := &m.st
	if m.undo == nil {
		m.undo = &sendUndo{lastNotified: st.lastNotified, heldBack: st.heldBack, flapNotified: st.flapNotified}
	}
	st.a.Title = m.r.title(st.a.Labels, st.a.Value)
	a := cloneAlert(st.a)
	a.HeldBack = st.heldBack
	st.heldBack = 0
	st.lastNotified = m.now
	st.notified = true
	m.save = true
	m.notices = append(m.notices, notice{a: a})
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
		st.flapNotified = false
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
	st.flapping, st.flapNotified = false, false
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

// title is the alert's one-line summary. It states the value observed
// when the condition last held ("5 consecutive sync failures for imdb"),
// not the rule's threshold, which the rule's description and condition
// carry: a firing alert's title follows its reading at every evaluation on
// which the condition holds, and a resolved one keeps its last.
func title(r *Rule, c *compiled, labels map[string]string, v float64) string {
	cond, _ := conditionValue(r.Condition)
	val := formatValue(v)
	who := func(key string) string {
		if s := labels[key]; s != "" {
			return s
		}
		if len(labels) > 0 {
			return "{" + describeLabels(labels) + "}"
		}
		return "all"
	}
	switch cond := cond.(type) {
	case ConsecutiveFailures:
		return fmt.Sprintf("%s consecutive sync failures for %s", val, who(names.AttrSource))
	case SlowOperation:
		syncs := "syncs"
		if v == 1 {
			syncs = "sync"
		}
		return fmt.Sprintf("%s %s of %s slower than %s in the last %s", val, syncs, who(names.AttrSource), promDuration(cond.Threshold), promDuration(cond.Window))
	case RateAbove:
		return fmt.Sprintf("%s increased by %s in %s%s", c.metric, val, promDuration(c.window), forLabels(labels))
	case ServiceDown:
		return fmt.Sprintf("Service %s is down", who(names.AttrService))
	case CircuitOpen:
		return fmt.Sprintf("Circuit breaker for %s is open", who(names.AttrService))
	case Threshold:
		reading := c.metric
		if c.kind == kindIncrease {
			reading = fmt.Sprintf("increase(%s[%s])", reading, promDuration(c.window))
		}
		return fmt.Sprintf("%s is %s (%s %g)%s", reading, val, c.op, c.threshold, forLabels(labels))
	}
	return r.Name
}

// forLabels ends a title with the series it is about: " for k=v, ..." or,
// for a series without labels, nothing.
func forLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	return " for " + describeLabels(labels)
}

// formatValue writes a reading for a title: whole numbers without a
// fraction, others with six significant digits, so that float noise
// (0.30000000000000004) does not reach people.
func formatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
