package alerting

import (
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// alertRecord is the engine's record of one alert: its lifecycle state and
// the evaluation bookkeeping around it.
type alertRecord struct {
	st       alertState
	told     told   // what the notifiers were told of it (the mute pass's record)
	touched  uint64 // evaluation that last observed it
	restored bool   // loaded from the state file, not yet observed
}

// alertTable holds every known alert, applies lifecycle steps and the mute
// pass to them and answers queries. It is not safe for concurrent use (the
// ledger guards it), except firing, which is read without a lock.
type alertTable struct {
	all    map[string]*alertRecord // every known alert, by ID
	active map[string]*alertRecord // pending and firing alerts, by ID
	firing [Critical + 1]atomic.Int64
}

func newAlertTable() *alertTable {
	return &alertTable{all: map[string]*alertRecord{}, active: map[string]*alertRecord{}}
}

// put adds a record, e.g. one restored from the state file.
func (t *alertTable) put(rec *alertRecord) {
	t.all[rec.st.a.ID] = rec
	if rec.st.a.State != Resolved {
		t.active[rec.st.a.ID] = rec
	}
}

// record returns the alert's record, creating a fresh one for rule.
func (t *alertTable) record(id, rule string) *alertRecord {
	rec := t.all[id]
	if rec == nil {
		rec = &alertRecord{st: alertState{fresh: true, a: Alert{ID: id, Rule: rule, State: Resolved}}}
		t.all[id] = rec
	}
	return rec
}

// apply steps the alert with obs, passes the step's notices through what
// mutes alerts now (ms; see mute), and keeps the table and the rule's
// active count in line with the outcome. re may be nil for obsRetire and
// obsMute. It returns the notices, in the rule's order, and whether to
// save the state.
func (t *alertTable) apply(rec *alertRecord, re *ruleEntry, obs observation, ms *muting, now time.Time) ([]notice, bool) {
	var view *ruleView
	order := -1
	if re != nil {
		view, order = &re.view, re.order
	}
	before := rec.told
	var notices []notice
	var save, muteSave bool
	rec.st, rec.told, notices, save = step(rec.st, before, obs, view, now)
	// The pass works on the record itself, which it lists what mutes on:
	// a state of its own would be moved to the heap at every step.
	rec.told, notices, muteSave = mute(&rec.st, before, rec.told, notices, view, ms, now)
	save = save || muteSave
	st := &rec.st
	id := st.a.ID
	_, wasActive := t.active[id]
	isActive := !st.gone && st.a.State != Resolved
	switch {
	case isActive && !wasActive:
		t.active[id] = rec
		if re != nil {
			re.active++
		}
	case !isActive && wasActive:
		delete(t.active, id)
		if re != nil && re.active > 0 {
			re.active--
		}
	}
	if st.gone {
		delete(t.all, id)
	}
	for i := range notices {
		notices[i].order = order
	}
	return notices, save
}

// ofRule returns the rule's active alerts in ID order.
func (t *alertTable) ofRule(rule string) []*alertRecord {
	var out []*alertRecord
	for _, rec := range t.active {
		if rec.st.a.Rule == rule {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b *alertRecord) int { return strings.Compare(a.st.a.ID, b.st.a.ID) })
	return out
}

// countOf returns how many active alerts the rule has.
func (t *alertTable) countOf(rule string) int {
	n := 0
	for _, rec := range t.active {
		if rec.st.a.Rule == rule {
			n++
		}
	}
	return n
}

// notifiedFiring returns copies of the firing alerts whose firing was
// notified, and of those muted since whose resends go on (kept), both in
// ID order. The muted ones are as the Resenders last heard of them. With
// clusterSilences, the firing alerts the cluster's silences alone mute
// are among the notified ones: the Resenders, the cluster's members, get
// them all the same.
func (t *alertTable) notifiedFiring(clusterSilences bool) (firing, kept []Alert) {
	for _, rec := range t.active {
		a := &rec.st.a
		switch {
		case a.State != Firing:
		case rec.told.notified:
			firing = append(firing, cloneAlert(*a))
		case rec.told.kept != nil:
			kept = append(kept, cloneAlert(*rec.told.kept))
		case clusterSilences && len(a.SilencedBy) > 0 && len(a.MutedBy) == 0:
			// Silenced by the cluster alone, which applies its silences
			// itself: its members (the Resenders) get the alert as any
			// firing one, and list it suppressed; the other notifiers
			// stay muted. A maintenance window is the engine's own and
			// mutes them too.
			c := cloneAlert(*a)
			c.SilencedBy = nil
			firing = append(firing, c)
		}
	}
	byID := func(a, b Alert) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(firing, byID)
	slices.SortFunc(kept, byID)
	return firing, kept
}

// prune drops resolved alerts past retention, and the oldest ones past
// maxResolved; it reports whether it dropped any.
func (t *alertTable) prune(now time.Time, retention time.Duration, maxResolved int) bool {
	if len(t.all) == len(t.active) {
		return false
	}
	dropped := false
	cutoff := now.Add(-retention)
	var resolved []*alertRecord
	for id, rec := range t.all {
		a := &rec.st.a
		if a.State != Resolved {
			continue
		}
		if a.ResolvedAt == nil || a.ResolvedAt.Before(cutoff) {
			delete(t.all, id)
			dropped = true
			continue
		}
		resolved = append(resolved, rec)
	}
	if over := len(resolved) - maxResolved; over > 0 {
		slices.SortFunc(resolved, func(a, b *alertRecord) int { return a.st.a.ResolvedAt.Compare(*b.st.a.ResolvedAt) })
		for _, rec := range resolved[:over] {
			delete(t.all, rec.st.a.ID)
		}
		dropped = true
	}
	return dropped
}

// recount updates the firing counts per level.
func (t *alertTable) recount() {
	var n [Critical + 1]int64
	for _, rec := range t.active {
		if l := rec.st.a.Level; rec.st.a.State == Firing && l >= Info && l <= Critical {
			n[l]++
		}
	}
	for l := range n {
		t.firing[l].Store(n[l])
	}
}

// query returns copies of the alerts f selects, unsorted (see sortAlerts).
func (t *alertTable) query(f *Filter) []Alert {
	out := make([]Alert, 0, len(t.active))
	for _, rec := range t.all {
		if f.match(&rec.st.a) {
			out = append(out, cloneAlert(rec.st.a))
		}
	}
	return out
}

// sortAlerts sorts active alerts before resolved ones, then most severe
// first, then newest first, then by ID.
func sortAlerts(out []Alert) {
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
		return strings.Compare(a.ID, b.ID)
	})
}

func cloneAlert(a Alert) Alert {
	a.Labels = maps.Clone(a.Labels)
	a.SilencedBy = slices.Clone(a.SilencedBy)
	a.MutedBy = slices.Clone(a.MutedBy)
	a.TraceIDs = slices.Clone(a.TraceIDs)
	if a.ResolvedAt != nil {
		t := *a.ResolvedAt
		a.ResolvedAt = &t
	}
	if a.AcknowledgedAt != nil {
		t := *a.AcknowledgedAt
		a.AcknowledgedAt = &t
	}
	return a
}

// notifiedFiringIDs returns the IDs of the firing alerts whose firing was
// notified, and of those muted since whose resends go on (kept).
func (t *alertTable) notifiedFiringIDs() (notified, kept []string) {
	for id, rec := range t.active {
		switch {
		case rec.st.a.State != Firing:
		case rec.told.notified:
			notified = append(notified, id)
		case rec.told.kept != nil:
			kept = append(kept, id)
		}
	}
	return notified, kept
}
