package alerting

import (
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/listsync/otelmon/internal/names"
)

// alertState is the engine's record of one alert (one rule and label set):
// the public Alert plus what the lifecycle needs. Records are reused: an
// alert that fires again after resolving keeps its ID, its rate-limit
// bookkeeping and its flap history. Guarded by Engine.mu.
type alertState struct {
	a        Alert
	fresh    bool   // created by this verdict, not yet started
	restored bool   // loaded from the state file, not yet seen by an evaluation
	touched  uint64 // evaluation that last confirmed or cleared it

	lastSeen     time.Time // last time the condition held
	savedSeen    time.Time // lastSeen as last saved
	clearCount   int       // consecutive clear evaluations
	lastNotified time.Time // last firing notification
	notified     bool      // a firing notification was sent for the current firing
	heldBack     int       // firings held back by the rate limit since lastNotified

	transitions  []time.Time // recent fire and resolve decisions, for flap detection
	flapping     bool
	flapNotified bool
	heldFiring   bool // flapping kept it firing though its condition cleared

	prev *Alert // the resolved alert a pending one replaced, restored if it clears
}

// notice is a notification decided by an evaluation.
type notice struct {
	a     Alert
	order int // rule order, for a deterministic delivery order
}

// hold applies a "condition holds" verdict.
func (e *Engine) hold(st *alertState, re *ruleEntry, s *seriesEntry, v float64, ev *evalState) {
	r := &re.rule
	st.touched = ev.seq
	st.restored = false
	st.clearCount = 0
	st.lastSeen = ev.now
	st.a.Value = v
	if r.AutoResolveAfter > 0 && st.a.State == Firing &&
		ev.now.Sub(st.savedSeen) >= r.AutoResolveAfter/10 {
		// Keep the saved lastSeen current enough for the hold-down: within a
		// tenth of it, without rewriting the state file at every evaluation.
		ev.dirty = true
	}
	switch st.a.State {
	case Resolved:
		st.a.Level = r.Level
		st.a.Description = r.Description
		st.a.Labels = mergeLabels(s.labelMap(), r.Labels)
		if r.For > 0 {
			if !st.fresh {
				prev := st.a
				st.prev = &prev
			}
			st.a.State = Pending
			st.a.StartsAt = ev.now
			st.a.UpdatedAt = ev.now
			st.a.ResolvedAt = nil
			st.a.Title = title(re, st.a.Labels, v)
			clearAck(&st.a)
			e.activate(st, re)
			ev.dirty = true
		} else {
			e.fire(st, re, ev)
		}
		st.fresh = false
	case Pending:
		if ev.now.Sub(st.a.StartsAt) >= r.For {
			e.fire(st, re, ev)
		}
	case Firing:
		if st.heldFiring { // back after a clear that flapping held
			st.heldFiring = false
			e.transition(st, r, ev.now)
			ev.dirty = true
		}
		e.flapEnd(st, re, ev)
		e.repeat(st, re, ev)
	}
}

// clear applies a "condition clear" verdict; hasValue is false when the
// series is gone.
func (e *Engine) clear(st *alertState, re *ruleEntry, v float64, hasValue bool, ev *evalState) {
	r := &re.rule
	st.touched = ev.seq
	if hasValue {
		st.a.Value = v
		st.restored = false
	}
	switch st.a.State {
	case Pending:
		e.revert(st, re, ev)
	case Firing:
		st.clearCount++
		if st.heldFiring {
			e.flapEnd(st, re, ev)
			return
		}
		if st.clearCount < r.resolveAfterClear() {
			return
		}
		if ev.now.Sub(st.lastSeen) < r.AutoResolveAfter {
			return
		}
		e.transition(st, r, ev.now)
		if st.flapping {
			st.heldFiring = true
			ev.dirty = true
			if !st.flapNotified {
				st.flapNotified = true
				e.sendFiring(st, re, ev)
			}
			return
		}
		e.resolve(st, re, ev)
	}
}

// fire moves a pending, resolved or fresh alert to Firing and notifies it,
// subject to the rate limit.
func (e *Engine) fire(st *alertState, re *ruleEntry, ev *evalState) {
	r := &re.rule
	wasPending := st.a.State == Pending
	if !wasPending {
		e.activate(st, re)
	}
	st.a.State = Firing
	st.a.StartsAt = ev.now
	st.a.UpdatedAt = ev.now
	st.a.ResolvedAt = nil
	st.a.Title = title(re, st.a.Labels, st.a.Value)
	if !wasPending {
		// A new occurrence; an acknowledgement given while it was pending
		// carries over into firing.
		clearAck(&st.a)
	}
	st.prev = nil
	st.notified = false
	st.clearCount = 0
	ev.dirty = true
	e.transition(st, r, ev.now)
	if st.flapping {
		if !st.flapNotified {
			st.flapNotified = true
			e.sendFiring(st, re, ev)
		}
		return
	}
	if r.RateLimit > 0 && !st.lastNotified.IsZero() && ev.now.Sub(st.lastNotified) < r.RateLimit {
		st.heldBack++
		return
	}
	e.sendFiring(st, re, ev)
}

// repeat sends the reminders of a firing alert: a firing held back by the
// rate limit once the limit has passed, and, with a rate limit, a reminder
// every RateLimit while the alert is not acknowledged.
func (e *Engine) repeat(st *alertState, re *ruleEntry, ev *evalState) {
	r := &re.rule
	if st.a.Acknowledged || st.flapping || r.RateLimit <= 0 {
		return
	}
	if ev.now.Sub(st.lastNotified) >= r.RateLimit {
		e.sendFiring(st, re, ev)
	}
}

// resolve moves a firing alert to Resolved, notifying it if its firing was
// notified.
func (e *Engine) resolve(st *alertState, re *ruleEntry, ev *evalState) {
	e.deactivate(st, re)
	st.a.State = Resolved
	t := ev.now
	st.a.ResolvedAt = &t
	st.a.UpdatedAt = ev.now
	st.a.Flapping = false
	st.flapping, st.flapNotified, st.heldFiring = false, false, false
	st.clearCount = 0
	ev.dirty = true
	if st.notified {
		st.notified = false
		a := cloneAlert(st.a)
		a.HeldBack = 0
		ev.notices = append(ev.notices, notice{a: a, order: ruleOrder(re)})
	}
}

// retire ends an alert whose rule is gone or disabled: a firing one
// resolves, a pending one is dropped.
func (e *Engine) retire(st *alertState, re *ruleEntry, ev *evalState) {
	st.touched = ev.seq
	switch st.a.State {
	case Pending:
		e.revert(st, re, ev)
	case Firing:
		e.resolve(st, re, ev)
	}
}

// revert drops a pending alert whose condition cleared before it fired,
// restoring the resolved alert it replaced, if any.
func (e *Engine) revert(st *alertState, re *ruleEntry, ev *evalState) {
	e.deactivate(st, re)
	ev.dirty = true
	if st.prev != nil {
		st.a = *st.prev
		st.prev = nil
		return
	}
	delete(e.alerts, st.a.ID)
}

// sendFiring queues a firing notification carrying the held-back count.
func (e *Engine) sendFiring(st *alertState, re *ruleEntry, ev *evalState) {
	st.a.Title = title(re, st.a.Labels, st.a.Value)
	a := cloneAlert(st.a)
	a.HeldBack = st.heldBack
	st.heldBack = 0
	st.lastNotified = ev.now
	st.notified = true
	ev.dirty = true
	ev.notices = append(ev.notices, notice{a: a, order: ruleOrder(re)})
}

// transition records a fire or resolve decision for flap detection and
// marks the alert flapping when there were too many.
func (e *Engine) transition(st *alertState, r *Rule, now time.Time) {
	if r.Flap.Changes <= 0 {
		return
	}
	cut := now.Add(-r.Flap.window())
	kept := st.transitions[:0]
	for _, t := range st.transitions {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	st.transitions = append(kept, now)
	if n := len(st.transitions); n > r.Flap.Changes+1 {
		st.transitions = st.transitions[n-r.Flap.Changes-1:]
	}
	if len(st.transitions) > r.Flap.Changes && !st.flapping {
		st.flapping = true
		st.flapNotified = false
		st.a.Flapping = true
	}
}

// flapEnd ends flapping once the alert has made no change for a whole flap
// window; an alert held firing by flapping then resolves.
func (e *Engine) flapEnd(st *alertState, re *ruleEntry, ev *evalState) {
	r := &re.rule
	if !st.flapping || len(st.transitions) == 0 || ev.now.Sub(st.transitions[len(st.transitions)-1]) < r.Flap.window() {
		return
	}
	st.flapping, st.flapNotified = false, false
	st.a.Flapping = false
	st.transitions = st.transitions[:0]
	ev.dirty = true
	if st.heldFiring {
		st.heldFiring = false
		e.resolve(st, re, ev)
	}
}

func (e *Engine) activate(st *alertState, re *ruleEntry) {
	if _, ok := e.active[st.a.ID]; ok {
		return
	}
	e.active[st.a.ID] = st
	if re != nil {
		re.active++
	}
}

func (e *Engine) deactivate(st *alertState, re *ruleEntry) {
	if _, ok := e.active[st.a.ID]; !ok {
		return
	}
	delete(e.active, st.a.ID)
	if re != nil && re.active > 0 {
		re.active--
	}
}

func ruleOrder(re *ruleEntry) int {
	if re == nil {
		return -1
	}
	return re.order
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

// title is the alert's one-line summary.
func title(re *ruleEntry, labels map[string]string, v float64) string {
	cond, _ := conditionValue(re.rule.Condition)
	val := strconv.FormatFloat(v, 'g', -1, 64)
	who := func(key string) string {
		if s := labels[key]; s != "" {
			return s
		}
		if len(labels) > 0 {
			return "{" + describeLabels(labels) + "}"
		}
		return "all"
	}
	switch c := cond.(type) {
	case ConsecutiveFailures:
		return fmt.Sprintf("%s consecutive sync failures for %s", val, who(names.AttrSource))
	case SlowOperation:
		return fmt.Sprintf("Sync of %s slower than %s", who(names.AttrSource), promDuration(c.Threshold))
	case RateAbove:
		return fmt.Sprintf("%s increased by %s in %s for %s (threshold %g)", re.c.metric, val, promDuration(re.c.window), describeLabels(labels), re.c.threshold)
	case ServiceDown:
		return fmt.Sprintf("Service %s is down", who(names.AttrService))
	case CircuitOpen:
		return fmt.Sprintf("Circuit breaker for %s is open", who(names.AttrService))
	case Threshold:
		reading := re.c.metric
		if re.c.kind == kindIncrease {
			reading = fmt.Sprintf("increase(%s[%s])", reading, promDuration(re.c.window))
		}
		return fmt.Sprintf("%s is %s (%s %g) for %s", reading, val, re.c.op, re.c.threshold, describeLabels(labels))
	}
	return re.rule.Name
}
