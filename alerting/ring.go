package alerting

import (
	"slices"
	"time"
)

// maxRingSamples bounds the samples any ring keeps (64 KiB).
const maxRingSamples = 4096

// minRingSamples is the least a ring may keep, whatever its window.
const minRingSamples = 8

// ringLimit is how many samples a ring over window keeps at most when the
// engine evaluates every interval: twice the evaluations that fit in the
// window (room for evaluations asked for between the scheduled ones), plus
// the sample before the window, within [minRingSamples, maxRingSamples].
func ringLimit(window, interval time.Duration) int {
	if interval <= 0 {
		return maxRingSamples
	}
	n := window / interval
	if n >= maxRingSamples/2 {
		return maxRingSamples
	}
	return max(minRingSamples, 2*int(n)+4)
}

type sample struct {
	t int64   // UnixNano
	v float64 // reset-adjusted cumulative value (monotonic) or raw value
}

// ring keeps the history of one number of one series that windowed
// conditions read: the points where its value changed, each with the
// evaluation time it was first read at. Between two of them the value is
// the earlier one's, so the value at any time since the first is exact, and
// a ring serves every window up to its own: the rules of different windows
// that read the same number of a series share one ring without widening
// any of them.
//
// The ring drops the change points that no window needs any more (all but
// the newest at or before now-window, the longest window of its rules).
// It is bounded by limit: enough for the value to change at every
// evaluation of the window, twice over. Only a series that changes at
// nearly every evaluation of an engine evaluated more often than its
// interval (or with a window longer than maxRingSamples/2 intervals) fills
// it; then a change point whose neighbours are closest together is
// dropped, and a reading within the gap it leaves reads the value before
// it: late by less than the gap, about 2·window/limit at most.
//
// For monotonic series the values are adjusted for resets (a drop in value
// counts as a restart from zero, as Prometheus' increase does), so an
// increase is a subtraction.
type ring struct {
	d       derive
	window  time.Duration // the longest window of the rules reading the ring
	limit   int           // the most samples kept; see ringLimit
	s       []sample      // change points, oldest first
	lastRaw float64
	adj     float64
	has     bool
	mono    bool
	bad     bool // the bound is not a bucket boundary
}

func newRing(d derive, window, interval time.Duration) *ring {
	return &ring{d: d, window: window, limit: ringLimit(window, interval)}
}

// push records the series' reading raw at evaluation time t.
func (r *ring) push(t int64, raw float64, mono bool) {
	switch {
	case !r.has:
		r.has, r.mono, r.adj = true, mono, raw
	case !r.mono:
		r.adj = raw
	case raw >= r.lastRaw:
		r.adj += raw - r.lastRaw
	default: // counter reset
		r.adj += raw
	}
	r.lastRaw = raw
	n := len(r.s)
	if n > 0 && r.s[n-1].v == r.adj {
		return // unchanged: the last change point still holds
	}
	if n == cap(r.s) {
		r.makeRoom(t)
	}
	r.s = append(r.s, sample{t, r.adj})
}

// makeRoom frees at least one slot in a full ring before a sample of time
// t is appended: it drops what no window needs, grows the ring (doubling,
// up to its limit) when that freed less than half of it, and drops the
// closest change point when the ring is at its limit and still full.
func (r *ring) makeRoom(t int64) {
	if drop := r.baseline(t-int64(r.window)) - 1; drop > 0 {
		r.s = r.s[:copy(r.s, r.s[drop:])]
	}
	n, c, limit := len(r.s), cap(r.s), max(r.limit, minRingSamples)
	switch {
	case c == 0:
		r.s = make([]sample, 0, 4)
	case n > c/2 && c < limit:
		grown := make([]sample, n, min(2*c, limit))
		copy(grown, r.s)
		r.s = grown
	case n == c:
		i := r.closest(t)
		r.s = slices.Delete(r.s, i, i+1)
	}
}

// closest returns the index of the change point, other than the first,
// whose neighbours are closest together (the last one's next neighbour is
// the sample of time t about to be appended): dropping it leaves the
// smallest gap, and only readings of the value within that gap change,
// to the value before it. Always merging where the merged gap is smallest
// keeps every gap below about twice the window over the limit.
func (r *ring) closest(t int64) int {
	n := len(r.s)
	best, gap := n-1, t-r.s[n-2].t
	for i := 1; i < n-1; i++ {
		if g := r.s[i+1].t - r.s[i-1].t; g <= gap {
			best, gap = i, g
		}
	}
	return best
}

// baseline returns how many samples are at or before cut: the index of the
// newest of them plus one.
func (r *ring) baseline(cut int64) int {
	i, _ := slices.BinarySearchFunc(r.s, cut, func(s sample, cut int64) int {
		if s.t <= cut {
			return -1
		}
		return 1
	})
	return i
}

// increase returns the increase (monotonic) or change over the window
// ending at now: the latest value minus the value at now-w, that of the
// newest change point at or before it. Without one (the history starts
// within the window) it is counted from zero when the cumulative value is
// known to have started within the window (young), and from the oldest
// sample otherwise (a lower bound).
func (r *ring) increase(now int64, w time.Duration, young bool) float64 {
	n := len(r.s)
	if n == 0 {
		return 0
	}
	latest := r.s[n-1].v
	if i := r.baseline(now - int64(w)); i > 0 {
		return latest - r.s[i-1].v
	}
	if r.mono && young {
		return latest
	}
	return latest - r.s[0].v
}

// setWindow sets the longest window of the rules reading the ring.
func (r *ring) setWindow(window, interval time.Duration) {
	r.window, r.limit = window, ringLimit(window, interval)
}
