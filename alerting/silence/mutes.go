package silence

import (
	"slices"
	"strings"
	"time"
)

// Mutes is what mutes alerts at one instant: the silences active and the
// maintenance windows open then. It is immutable, and safe for concurrent
// use: a later change of the store does not change it.
type Mutes struct {
	silences []*entry  // in ID order
	windows  []*Window // in the order given
}

// Mutes returns what mutes alerts at now: the store's active silences and
// those of windows open at now.
func (st *Store) Mutes(windows []*Window, now time.Time) *Mutes {
	m := &Mutes{}
	for _, e := range st.byID {
		if e.m != nil && e.s.StateAt(now) == Active {
			m.silences = append(m.silences, e)
		}
	}
	slices.SortFunc(m.silences, func(a, b *entry) int { return strings.Compare(a.s.ID, b.s.ID) })
	for _, w := range windows {
		if w.OpenAt(now) {
			m.windows = append(m.windows, w)
		}
	}
	return m
}

// Of returns the IDs of the silences and the names of the windows that
// mute an alert of labels l, nil when none do. A nil Mutes mutes nothing.
func (m *Mutes) Of(l Labels) (silencedBy, mutedBy []string) { return m.OfEach(l, l) }

// OfEach is Of with the silences reading one set of labels and the
// windows another: an alert's labels as an Alertmanager cluster gets them,
// whose silences mute it, and its own, which the windows select by.
func (m *Mutes) OfEach(forSilences, forWindows Labels) (silencedBy, mutedBy []string) {
	if m == nil {
		return nil, nil
	}
	for _, e := range m.silences {
		if e.m.match(forSilences) {
			silencedBy = append(silencedBy, e.s.ID)
		}
	}
	for _, w := range m.windows {
		if w.m.match(forWindows) {
			mutedBy = append(mutedBy, w.name)
		}
	}
	return silencedBy, mutedBy
}
