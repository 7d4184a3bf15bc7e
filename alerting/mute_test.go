package alerting

import (
	"slices"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting/silence"
)

// The lifecycle and the mute pass alone: what muting does to a step's
// notices and state.
func TestStepMuted(t *testing.T) {
	store := silence.NewStore(SilenceConfig{})
	if err := store.Restore(Silence{ID: "s1", Matchers: []Matcher{eq("service", "plex")}, StartsAt: t0.Add(-time.Hour), EndsAt: t0.Add(time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	muted, open := &muting{ms: store.Mutes(nil, t0)}, &muting{ms: &silence.Mutes{}}
	// with is a step whose notices go through the mute pass with ms; a
	// step without (an acknowledgement, as Engine.Acknowledge makes it)
	// leaves muting as it was.
	type mstep struct {
		obs  observation
		ms   *muting
		pass bool
	}
	with := func(o observation, ms *muting) mstep { return mstep{obs: o, ms: ms, pass: true} }
	type tstep struct {
		at    time.Duration
		obs   mstep
		notes []string
	}
	limited := view(func(v *ruleView) { v.rateLimit = time.Hour })
	limitedFor := view(func(v *ruleView) { v.rateLimit, v.forDur = time.Hour, 2*time.Minute })
	flappy := view(func(v *ruleView) { v.flapChanges = 2 })
	for _, tc := range []struct {
		name  string
		view  *ruleView
		steps []tstep
	}{
		{"unmuted within the rate limit: notified once all the same", limited, []tstep{
			{0, with(obsHoldPlex, open), []string{"F"}},
			{time.Minute, with(obsHoldPlex, muted), []string{"forget unless resending"}},
			{2 * time.Minute, with(obsHoldPlex, open), []string{"F"}},
			{3 * time.Minute, with(obsHoldPlex, open), nil},
		}},
		{"notified, then muted and resolved: Resenders keep it until it resolves, nobody hears more", view(), []tstep{
			{0, with(obsHoldPlex, open), []string{"F"}},
			{time.Minute, with(obsHoldPlex, muted), []string{"forget unless resending"}},
			{2 * time.Minute, with(obsHoldPlex, muted), nil},
			{3 * time.Minute, with(obsClear0, muted), []string{"forget"}},
			{4 * time.Minute, with(obsClear0, open), nil},
		}},
		{"notified, then muted, resolved as the mute ends: Resenders drop it, nobody hears more", view(), []tstep{
			{0, with(obsHoldPlex, open), []string{"F"}},
			{time.Minute, with(obsHoldPlex, muted), []string{"forget unless resending"}},
			{2 * time.Minute, with(obsClear0, open), []string{"forget"}},
			{3 * time.Minute, with(obsHoldPlex, open), []string{"F"}},
		}},
		{"a firing dropped while muted does not count for the rate limit", limitedFor, []tstep{
			{0, with(obsHoldPlex, muted), nil},                        // pending
			{2 * time.Minute, with(obsHoldPlex, muted), nil},          // fires, muted
			{3 * time.Minute, with(obsClear0, muted), nil},            // resolves, muted
			{4 * time.Minute, with(obsHoldPlex, muted), nil},          // pending again
			{5 * time.Minute, with(obsHoldPlex, open), nil},           // unmuted, pending
			{6 * time.Minute, with(obsHoldPlex, open), []string{"F"}}, // fires: the first notice, not held back
		}},
		{"fires muted, unmuted by a silence change (obsMute)", view(), []tstep{
			{0, with(obsHoldPlex, muted), nil},
			{time.Minute, with(observation{kind: obsMute}, open), []string{"F"}},
		}},
		{"flaps while muted: nothing, then one firing", flappy, []tstep{
			{0, with(obsHoldPlex, muted), nil},
			{time.Minute, with(obsClear0, muted), nil},
			{2 * time.Minute, with(obsHoldPlex, muted), nil},
			{3 * time.Minute, with(obsClear0, muted), nil},
			{4 * time.Minute, with(obsHoldPlex, open), []string{"F!"}}, // still flapping
			{5 * time.Minute, with(obsClear0, open), nil},              // held firing: notified already
		}},
		{"nil mute leaves muting as it was", view(), []tstep{
			{0, with(obsHoldPlex, muted), nil},
			{time.Minute, mstep{obs: observation{kind: obsAck, by: "a"}}, nil},
			{2 * time.Minute, with(obsHoldPlex, muted), nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, tl := freshState(), told{}
			for i, s := range tc.steps {
				var notes []notice
				before := tl
				st, tl, notes, _ = step(st, tl, s.obs.obs, tc.view, t0.Add(s.at))
				if s.obs.pass {
					tl, notes, _ = mute(&st, before, tl, notes, tc.view, s.obs.ms, t0.Add(s.at))
				}
				got := kinds(alertsOf(notes))
				for j, n := range notes {
					switch n.forget {
					case forgetAll:
						got[j] = "forget"
					case forgetUnlessResending:
						got[j] = "forget unless resending"
					}
				}
				if !slices.Equal(got, s.notes) {
					t.Fatalf("step %d: notices %q, want %q", i, got, s.notes)
				}
				for _, n := range notes {
					if n.a.SilencedBy != nil || n.a.MutedBy != nil {
						t.Fatalf("step %d: a notice says it is muted: %+v", i, n.a)
					}
				}
				// A resolved alert lists nothing that mutes it.
				if want := []string{"s1"}; s.obs.ms == muted && !slices.Equal(st.a.SilencedBy, want) && st.a.State != Resolved ||
					st.a.State == Resolved && (st.a.SilencedBy != nil || st.a.MutedBy != nil) {
					t.Fatalf("step %d: %s alert silencedBy %q", i, st.a.State, st.a.SilencedBy)
				}
			}
		})
	}
	// A rule gone (nil view): no firing notice can be made, and no panic.
	st, tl, notes, _ := step(freshState(), told{}, obsHoldPlex, view(), t0)
	tl, _, _ = mute(&st, told{}, tl, notes, view(), muted, t0)
	st, next, notes, _ := step(st, tl, observation{kind: obsMute}, nil, t0)
	if _, notes, _ := mute(&st, tl, next, notes, nil, open, t0); len(notes) != 0 || st.a.SilencedBy != nil {
		t.Fatalf("unmuted without a rule: %+v %+v", st, notes)
	}
}

func alertsOf(ns []notice) []Alert {
	out := make([]Alert, len(ns))
	for i, n := range ns {
		out[i] = n.a
	}
	return out
}
