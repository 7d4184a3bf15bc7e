package alerting

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// The lifecycle state machine alone: no engine, no metrics, no clock.

func view(mod ...func(*ruleView)) *ruleView {
	v := &ruleView{
		level:             Warning,
		description:       "watch it",
		labels:            map[string]string{"team": "media"},
		resolveAfterClear: 1,
		flapWindow:        DefaultFlapWindow,
		title:             func(_ map[string]string, v float64) string { return fmt.Sprintf("value %g", v) },
	}
	for _, m := range mod {
		m(v)
	}
	return v
}

var (
	obsHoldPlex = observation{kind: obsHold, value: 1, labels: map[string]string{"service": "plex"}}
	obsClear0   = observation{kind: obsClear}
)

func hold(v float64) observation {
	o := obsHoldPlex
	o.value = v
	return o
}

// stepDelivered is a step whose notices all reach the notifiers, as when
// nothing mutes the alert: the step, then the mute pass with nothing that
// mutes.
func stepDelivered(st alertState, tl told, obs observation, r *ruleView, now time.Time) (alertState, told, []notice, bool) {
	next, nextTold, notices, save := step(st, tl, obs, r, now)
	nextTold, notices, muteSave := mute(&next, tl, nextTold, notices, r, nil, now)
	return next, nextTold, notices, save || muteSave
}

func freshState() alertState {
	return alertState{fresh: true, a: Alert{ID: "id", Rule: "r", State: Resolved}}
}

// stateName is the state as the tests name it: "pending", "firing",
// "resolved" or "gone".
func stateName(st alertState) string {
	if st.gone {
		return "gone"
	}
	return st.a.State.String()
}

func TestStepTable(t *testing.T) {
	type tstep struct {
		at    time.Duration // since t0
		obs   observation
		view  *ruleView // replaces the case's view from this step on
		state string
		notes []string // see kinds
		save  bool
		check func(t *testing.T, st alertState, tl told)
		saved bool // the engine wrote the state file after this step
	}
	ack := observation{kind: obsAck, by: "alice", comment: "on it"}
	cases := []struct {
		name  string
		view  *ruleView
		steps []tstep
	}{
		{
			name: "resolved to firing to resolved, and again",
			view: view(),
			steps: []tstep{
				{obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true, check: func(t *testing.T, st alertState, tl told) {
					a := st.a
					if a.Level != Warning || a.Description != "watch it" || a.Labels["service"] != "plex" || a.Labels["team"] != "media" ||
						!a.StartsAt.Equal(t0) || a.Title != "value 1" || !tl.notified || st.fresh {
						t.Fatalf("fired: %+v", st)
					}
				}},
				{at: time.Minute, obs: hold(2), state: "firing", check: func(t *testing.T, st alertState, _ told) {
					if st.a.Value != 2 || !st.lastSeen.Equal(t0.Add(time.Minute)) {
						t.Fatalf("hold did not record the reading: %+v", st)
					}
				}},
				{at: 2 * time.Minute, obs: obsClear0, state: "resolved", notes: []string{"R"}, save: true, check: func(t *testing.T, st alertState, tl told) {
					if st.a.ResolvedAt == nil || !st.a.ResolvedAt.Equal(t0.Add(2*time.Minute)) || tl.notified {
						t.Fatalf("resolved: %+v", st)
					}
				}},
				{at: 3 * time.Minute, obs: obsClear0, state: "resolved"},
				{at: 4 * time.Minute, obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
			},
		},
		{
			name: "pending until For, then firing; a pending that clears restores the resolved alert",
			view: view(func(v *ruleView) { v.forDur = 2 * time.Minute }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "pending", save: true},
				{at: time.Minute, obs: obsHoldPlex, state: "pending"},
				{at: 2 * time.Minute, obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: 3 * time.Minute, obs: obsClear0, state: "resolved", notes: []string{"R"}, save: true},
				{at: 4 * time.Minute, obs: obsHoldPlex, state: "pending", save: true, check: func(t *testing.T, st alertState, _ told) {
					if st.prev == nil || st.prev.ResolvedAt == nil || !st.a.StartsAt.Equal(t0.Add(4*time.Minute)) {
						t.Fatalf("pending again: %+v", st)
					}
				}},
				{at: 5 * time.Minute, obs: obsClear0, state: "resolved", save: true, check: func(t *testing.T, st alertState, _ told) {
					if !st.a.ResolvedAt.Equal(t0.Add(3*time.Minute)) || st.prev != nil {
						t.Fatalf("the earlier resolved alert is not back: %+v", st)
					}
				}},
			},
		},
		{
			name: "a first pending that clears is gone",
			view: view(func(v *ruleView) { v.forDur = time.Hour }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "pending", save: true},
				{at: time.Minute, obs: obsClear0, state: "gone", save: true},
			},
		},
		{
			name: "hysteresis: three clear observations in a row to resolve",
			view: view(func(v *ruleView) { v.resolveAfterClear = 3 }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: 1 * time.Minute, obs: obsClear0, state: "firing"},
				{at: 2 * time.Minute, obs: obsClear0, state: "firing"},
				{at: 3 * time.Minute, obs: obsHoldPlex, state: "firing"}, // counting starts over
				{at: 4 * time.Minute, obs: obsClear0, state: "firing"},
				{at: 5 * time.Minute, obs: obsClear0, state: "firing"},
				{at: 6 * time.Minute, obs: obsClear0, state: "resolved", notes: []string{"R"}, save: true},
			},
		},
		{
			name: "auto-resolve hold-down",
			view: view(func(v *ruleView) { v.autoResolveAfter = 30 * time.Minute }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: time.Minute, obs: obsClear0, state: "firing"},
				{at: 30*time.Minute - time.Second, obs: obsClear0, state: "firing"},
				{at: 30 * time.Minute, obs: obsClear0, state: "resolved", notes: []string{"R"}, save: true},
			},
		},
		{
			name: "auto-resolve: the last-seen time is saved every tenth of the hold-down",
			view: view(func(v *ruleView) { v.autoResolveAfter = 30 * time.Minute }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true, saved: true},
				{at: 2 * time.Minute, obs: obsHoldPlex, state: "firing"},
				{at: 3 * time.Minute, obs: obsHoldPlex, state: "firing", save: true, saved: true}, // a tenth of 30 min since saved
				{at: 5 * time.Minute, obs: obsHoldPlex, state: "firing"},
				{at: 6 * time.Minute, obs: obsHoldPlex, state: "firing", save: true},
			},
		},
		{
			name: "rate limit: held-back firings are counted into the next notification",
			view: view(func(v *ruleView) { v.rateLimit = 30 * time.Minute }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: 5 * time.Minute, obs: obsClear0, state: "resolved", notes: []string{"R"}, save: true},
				{at: 10 * time.Minute, obs: obsHoldPlex, state: "firing", save: true}, // held back
				{at: 15 * time.Minute, obs: obsClear0, state: "resolved", save: true}, // not notified: no resolution
				{at: 20 * time.Minute, obs: obsHoldPlex, state: "firing", save: true}, // held back
				{at: 29 * time.Minute, obs: obsHoldPlex, state: "firing"},
				{at: 30 * time.Minute, obs: obsHoldPlex, state: "firing", notes: []string{"F+2"}, save: true},
				{at: 59 * time.Minute, obs: obsHoldPlex, state: "firing"},
				{at: 60 * time.Minute, obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true}, // reminder
				{at: 61 * time.Minute, obs: obsClear0, state: "resolved", notes: []string{"R"}, save: true},
			},
		},
		{
			name: "no rate limit: once per firing, no reminders",
			view: view(),
			steps: []tstep{
				{obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: 24 * time.Hour, obs: obsHoldPlex, state: "firing"},
			},
		},
		{
			name: "acknowledgement stops reminders and ends with the occurrence",
			view: view(func(v *ruleView) { v.rateLimit = 10 * time.Minute }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: time.Minute, obs: ack, state: "firing", save: true, check: func(t *testing.T, st alertState, _ told) {
					a := st.a
					if !a.Acknowledged || a.AcknowledgedBy != "alice" || a.AcknowledgeComment != "on it" ||
						!a.AcknowledgedAt.Equal(t0.Add(time.Minute)) || !a.UpdatedAt.Equal(t0.Add(time.Minute)) {
						t.Fatalf("acknowledged: %+v", a)
					}
				}},
				{at: 11 * time.Minute, obs: obsHoldPlex, state: "firing"}, // no reminder
				{at: 21 * time.Minute, obs: obsHoldPlex, state: "firing"},
				{at: 22 * time.Minute, obs: obsClear0, state: "resolved", notes: []string{"R"}, save: true},
				{at: 23 * time.Minute, obs: ack, state: "resolved"}, // nothing to acknowledge
				{at: 40 * time.Minute, obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true, check: func(t *testing.T, st alertState, _ told) {
					if st.a.Acknowledged || st.a.AcknowledgedAt != nil {
						t.Fatalf("a new occurrence kept the acknowledgement: %+v", st.a)
					}
				}},
			},
		},
		{
			name: "an acknowledgement while pending carries into firing",
			view: view(func(v *ruleView) { v.forDur = 2 * time.Minute }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "pending", save: true},
				{at: time.Minute, obs: ack, state: "pending", save: true},
				{at: 2 * time.Minute, obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true, check: func(t *testing.T, st alertState, _ told) {
					if !st.a.Acknowledged || st.a.AcknowledgedBy != "alice" {
						t.Fatalf("acknowledgement lost: %+v", st.a)
					}
				}},
			},
		},
		{
			name: "flapping: held firing, notified once, resolved after a stable window",
			view: view(func(v *ruleView) { v.flapChanges = 3; v.flapWindow = time.Hour }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: 1 * time.Minute, obs: obsClear0, state: "resolved", notes: []string{"R"}, save: true},
				{at: 2 * time.Minute, obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: 3 * time.Minute, obs: obsClear0, state: "firing", notes: []string{"F!"}, save: true, check: func(t *testing.T, st alertState, _ told) {
					if !st.flapping || !st.heldFiring || !st.a.Flapping {
						t.Fatalf("not flapping: %+v", st)
					}
				}},
				{at: 4 * time.Minute, obs: obsHoldPlex, state: "firing", save: true}, // back: a change, not notified
				{at: 5 * time.Minute, obs: obsClear0, state: "firing", save: true},
				{at: 64 * time.Minute, obs: obsClear0, state: "firing"},
				{at: 65 * time.Minute, obs: obsClear0, state: "resolved", notes: []string{"R"}, save: true, check: func(t *testing.T, st alertState, _ told) {
					if st.flapping || st.a.Flapping || st.heldFiring || len(st.transitions) != 0 {
						t.Fatalf("still flapping: %+v", st)
					}
				}},
				{at: 66 * time.Minute, obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
			},
		},
		{
			name: "flapping ends while the condition holds",
			view: view(func(v *ruleView) { v.flapChanges = 1; v.flapWindow = 10 * time.Minute }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: time.Minute, obs: obsClear0, state: "firing", notes: []string{"F!"}, save: true},
				{at: 2 * time.Minute, obs: obsHoldPlex, state: "firing", save: true},
				{at: 12 * time.Minute, obs: obsHoldPlex, state: "firing", save: true, check: func(t *testing.T, st alertState, _ told) {
					if st.flapping || st.a.Flapping {
						t.Fatalf("still flapping: %+v", st)
					}
				}},
			},
		},
		{
			name: "keep leaves a firing alert and reverts a pending one",
			view: view(func(v *ruleView) { v.forDur = time.Minute }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "pending", save: true},
				{at: time.Minute, obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: 2 * time.Minute, obs: observation{kind: obsKeep, value: 2}, state: "firing", check: func(t *testing.T, st alertState, _ told) {
					if st.a.Value != 2 {
						t.Fatalf("value %g", st.a.Value)
					}
				}},
				{at: 3 * time.Minute, obs: obsClear0, state: "resolved", notes: []string{"R"}, save: true},
				{at: 4 * time.Minute, obs: obsHoldPlex, state: "pending", save: true},
				{at: 5 * time.Minute, obs: observation{kind: obsKeep, value: 2}, state: "resolved", save: true},
			},
		},
		{
			name: "a gone series clears without a reading",
			view: view(),
			steps: []tstep{
				{obs: hold(7), state: "firing", notes: []string{"F"}, save: true},
				{at: time.Minute, obs: observation{kind: obsGone}, state: "resolved", notes: []string{"R"}, save: true, check: func(t *testing.T, st alertState, _ told) {
					if st.a.Value != 7 {
						t.Fatalf("value %g, want the last reading 7", st.a.Value)
					}
				}},
			},
		},
		{
			name: "retiring resolves a firing alert, drops a pending one",
			view: view(func(v *ruleView) { v.forDur = time.Minute }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "pending", save: true},
				{at: time.Minute, obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: 2 * time.Minute, obs: observation{kind: obsRetire}, view: nil, state: "resolved", notes: []string{"R"}, save: true},
				{at: 3 * time.Minute, obs: observation{kind: obsRetire}, state: "resolved"},
				{at: 4 * time.Minute, obs: obsHoldPlex, state: "pending", save: true},
				{at: 5 * time.Minute, obs: observation{kind: obsRetire}, state: "resolved", save: true},
			},
		},
		{
			name: "a level rise clears the acknowledgement and notifies at once",
			view: view(func(v *ruleView) { v.rateLimit = 2 * time.Hour }),
			steps: []tstep{
				{obs: obsHoldPlex, state: "firing", notes: []string{"F"}, save: true},
				{at: time.Minute, obs: ack, state: "firing", save: true},
				{at: 2 * time.Minute, obs: observation{kind: obsRuleChange}, view: view(func(v *ruleView) { v.level = Critical; v.rateLimit = 2 * time.Hour }),
					state: "firing", notes: []string{"F"}, save: true, check: func(t *testing.T, st alertState, _ told) {
						if st.a.Level != Critical || st.a.Acknowledged {
							t.Fatalf("after the rise: %+v", st.a)
						}
					}},
				{at: 3 * time.Minute, obs: observation{kind: obsRuleChange}, view: view(func(v *ruleView) { v.level = Critical; v.description = "new" }),
					state: "firing", save: true, check: func(t *testing.T, st alertState, _ told) {
						if st.a.Description != "new" {
							t.Fatalf("description %q", st.a.Description)
						}
					}},
				{at: 4 * time.Minute, obs: observation{kind: obsRuleChange}, state: "firing"}, // unchanged
				{at: 5 * time.Minute, obs: observation{kind: obsRuleChange}, view: view(), state: "firing", save: true, check: func(t *testing.T, st alertState, _ told) {
					if st.a.Level != Warning {
						t.Fatalf("level %s after a fall", st.a.Level)
					}
				}},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, v := freshState(), c.view
			var tl told
			for i, s := range c.steps {
				if s.view != nil {
					v = s.view
				}
				var notices []notice
				var save bool
				st, tl, notices, save = stepDelivered(st, tl, s.obs, v, t0.Add(s.at))
				if got := stateName(st); got != s.state {
					t.Fatalf("step %d: state %q, want %q", i, got, s.state)
				}
				as := make([]Alert, len(notices))
				for k, n := range notices {
					as[k] = n.a
				}
				if got := kinds(as); !slices.Equal(got, s.notes) {
					t.Fatalf("step %d: notices %q, want %q", i, got, s.notes)
				}
				if save != s.save {
					t.Fatalf("step %d: save %v, want %v", i, save, s.save)
				}
				if s.check != nil {
					s.check(t, st, tl)
				}
				if s.saved {
					st.savedSeen = st.lastSeen // as statePersister.snapshot does
				}
			}
		})
	}
}

// step is a function of its arguments: the state it is given is left as
// it was, slices and maps included.
func TestStepLeavesItsInputAlone(t *testing.T) {
	v := view(func(v *ruleView) { v.flapChanges = 5; v.forDur = time.Minute })
	st := freshState()
	tl := told{kept: &Alert{ID: "id", Labels: map[string]string{"service": "plex"}}}
	for i, o := range []observation{obsHoldPlex, obsHoldPlex, obsClear0, obsHoldPlex, obsHoldPlex, obsClear0, {kind: obsAck, by: "a"}} {
		before, keptBefore := cloneState(st), cloneAlert(*tl.kept)
		next, nextTold, _, _ := step(st, tl, o, v, t0.Add(time.Duration(i)*time.Minute))
		if !reflect.DeepEqual(st, before) || !reflect.DeepEqual(*tl.kept, keptBefore) {
			t.Fatalf("observation %d changed the input state:\n%+v\nwas\n%+v", i, st, before)
		}
		st, tl = next, nextTold
	}
	if len(st.transitions) == 0 {
		t.Fatal("the sequence recorded no transitions: the test checks nothing about them")
	}
}

func cloneState(st alertState) alertState {
	st.a = cloneAlert(st.a)
	st.transitions = slices.Clone(st.transitions)
	if st.prev != nil {
		p := cloneAlert(*st.prev)
		st.prev = &p
	}
	return st
}
