package alerting

import (
	"slices"
	"time"

	"github.com/listsync/otelmon/alerting/silence"
)

// The mute pass: the lifecycle decides its notices as if nothing were
// muted (step); this pass, applied to every step's notices, decides from
// what mutes the alert now (the active silences and open maintenance
// windows, a silence.Mutes) and from what the notifiers were told of it
// (told, the pass's own record of each alert) which notices reach the
// notifiers:
//
//   - an alert that nothing mutes gets its notices, and the pass records
//     their delivery (told.delivered); if a mute kept its current firing
//     from the notifiers and it still fires, they get it once now,
//     whatever the rate limit (owed);
//   - a muted alert's notices are dropped: its firing, reminders and
//     resolution. A firing dropped that way is not recorded, so it does
//     not count for the rate limit, the held-back count or the flapping
//     notice. The notifiers told of its firing before get a forget notice
//     instead, since they will not hear of its resolution; Resenders among
//     them keep getting its resends while it is muted and fires (kept),
//     and drop it when it resolves. If it resolves while muted, nobody is
//     told, and nothing is owed.
//
// The pass also lists on the alert what mutes it (SilencedBy, MutedBy);
// a resolved alert lists nothing, though it is muted all the same.

// muting is what mutes alerts at one instant (ms) and how its silences
// read an alert. In-process silences and maintenance windows read its own
// labels (alertLabels); an Alertmanager cluster's silences read the labels
// the cluster gets (labels, the alertmanager notifier's SilenceLabels:
// sanitized names, job, instance and external labels), as Alertmanager
// applies them. A nil muting mutes nothing.
type muting struct {
	ms     *silence.Mutes
	labels func(Alert) map[string]string // nil: the silences read alertLabels
}

// of returns the IDs of the silences and the names of the windows that
// mute a.
func (m *muting) of(a *Alert) (silencedBy, mutedBy []string) {
	if m == nil {
		return nil, nil
	}
	if m.labels == nil {
		return m.ms.Of((*alertLabels)(a))
	}
	return m.ms.OfEach(&sentLabels{a: a, labels: m.labels}, (*alertLabels)(a))
}

// sentLabels reads an alert's labels as the cluster gets them, made on
// the first read: only an alert that an active silence could mute pays
// for them.
type sentLabels struct {
	a      *Alert
	labels func(Alert) map[string]string
	m      map[string]string
}

// Get returns the value of the label name, "" when the alert has none.
func (s *sentLabels) Get(name string) string {
	if s.m == nil {
		s.m = s.labels(*s.a)
	}
	return s.m[name]
}

// told is what the notifiers were told of one alert: the record the mute
// pass keeps, and the lifecycle reads for the rate limit, reminders, the
// flapping notice and whether a resolution is due. It is a value, saved
// with the alert in the state file.
type told struct {
	notified     bool      // told of the current firing: its resolution is due to them
	lastNotified time.Time // the last firing notice delivered: the rate limit counts from it
	heldBack     int       // firings held back by the rate limit since lastNotified
	flapNotified bool      // told of the firing since the alert began to flap
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
}

// delivered records that n reached the notifiers at now. A resolution
// needs nothing more: the step that decided it recorded that the firing is
// over.
func (t *told) delivered(n *notice, now time.Time) {
	if n.a.State != Firing {
		return
	}
	t.notified, t.lastNotified, t.heldBack = true, now, 0
	if n.flap {
		t.flapNotified = true
	}
}

// settle ends what a mute left to do, the firing notice owed and the
// Resenders' keep-alive, and reports whether there was any.
func (t *told) settle() bool {
	if !t.owed && t.kept == nil {
		return false
	}
	t.owed, t.kept = false, nil
	return true
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

// mute passes one step's notices through what mutes the alert now (ms;
// nil mutes nothing). st is the stepped state, whose SilencedBy and
// MutedBy it sets; before is the record the step was given (what the
// notifiers had been told), tl the one it returned. It returns the record
// with what was delivered, the notices to queue, and whether the change
// must be saved. r is nil when the alert's rule is gone or disabled: a
// firing owed then waits for a step with its rule.
func mute(st *alertState, before, tl told, notices []notice, r *ruleView, ms *muting, now time.Time) (told, []notice, bool) {
	if st.gone {
		return tl, notices, false
	}
	save := false
	sil, mw := ms.of(&st.a)
	listSil, listMw := sil, mw
	if st.a.State == Resolved {
		listSil, listMw = nil, nil // muted all the same, but listed as nothing
	}
	if !slices.Equal(listSil, st.a.SilencedBy) || !slices.Equal(listMw, st.a.MutedBy) {
		st.a.SilencedBy, st.a.MutedBy = listSil, listMw
		save = true
	}
	firing := st.a.State == Firing
	wasTold := before.notified || before.kept != nil
	if sil != nil || mw != nil {
		keep := firing && wasTold
		if notices != nil || tl.notified || (tl.kept != nil) != keep || tl.owed != firing {
			save = true
		}
		var out []notice
		switch {
		case wasTold && firing:
			if before.notified {
				out = []notice{{a: Alert{ID: st.a.ID}, forget: forgetUnlessResending}}
			}
		case wasTold:
			out = []notice{{a: Alert{ID: st.a.ID}, forget: forgetAll}}
		}
		switch {
		case !keep:
			tl.kept = nil
		case tl.kept == nil:
			k := cloneAlert(st.a)
			k.SilencedBy, k.MutedBy = nil, nil
			tl.kept = &k
		}
		tl.notified, tl.owed = false, firing
		return tl, out, save
	}
	for i := range notices {
		n := &notices[i]
		n.a.SilencedBy, n.a.MutedBy = nil, nil
		tl.delivered(n, now)
	}
	if !firing {
		if tl.kept != nil {
			// Resolved as the mute ended: the Resenders drop it too.
			notices = append(notices, notice{a: Alert{ID: st.a.ID}, forget: forgetAll})
		}
		return tl, notices, tl.settle() || save
	}
	if tl.owed && !tl.notified {
		if r == nil {
			return tl, notices, save // owed until a step with its rule
		}
		n := firingNotice(st, &tl, r)
		n.flap = st.flapping
		tl.delivered(&n, now)
		notices = append(notices, n)
		save = true
	}
	return tl, notices, tl.settle() || save
}
