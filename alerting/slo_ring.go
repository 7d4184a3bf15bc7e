package alerting

import (
	"math"
	"time"
)

// sloSlots is how many slots of history a window keeps: a window is read at
// a resolution of a hundredth of its length at worst, whatever its length,
// so a series costs the same few kilobytes for 5 minutes as for 30 days.
const sloSlots = 100

// sloCount is an objective series' cumulative counts at an evaluation: its
// errors and its events, corrected for counter resets.
type sloCount struct {
	t      int64 // UnixNano, engine clock
	errors float64
	total  float64
}

// sloRing keeps one window's worth of an objective series' counts, to read
// their increase over the window. Time is cut in slots of res (a hundredth
// of the window, never less than the evaluation interval); each slot holds
// the last counts read within it, or the counts carried over from the slot
// before when no evaluation fell in it. The ring holds the window and two
// slots more, so the counts at the window's start are always in it once
// the history is that long.
//
// at(x), the counts at the window's start x, is the newest evaluation at
// or before x, as the engine's other windows read (ring.increase): exact
// when the slot of x holds an evaluation at or before x, which it always
// does when evaluations are at least res apart; otherwise (several
// evaluations in one slot, the last after x) the slot before's, so the
// window reads up to res longer.
type sloRing struct {
	window time.Duration
	res    int64 // slot length, ns
	slots  []sloCount
	first  int64 // slot number of the first counts pushed
	last   int64 // slot number of the last counts pushed
	has    bool

	// What the window reads before the history starts: the counts started
	// from zero at zeroAt when that is known (fromZero), otherwise the first
	// counts pushed, a lower bound.
	start    sloCount
	fromZero bool
	zeroAt   int64
}

func newSLORing(window, interval time.Duration) *sloRing {
	res := max(int64(window)/sloSlots, int64(interval), 1)
	n := (int64(window)+res-1)/res + 2
	return &sloRing{window: window, res: res, slots: make([]sloCount, n), zeroAt: math.MinInt64}
}

func (r *sloRing) slot(t int64) int64 {
	s := t / r.res
	if t < 0 && t%r.res != 0 {
		s--
	}
	return s
}

// push records the counts of an evaluation. Counts older than the last
// ones (a clock set back) replace the last.
func (r *sloRing) push(c sloCount) {
	s := r.slot(c.t)
	n := int64(len(r.slots))
	if !r.has {
		r.has, r.first, r.last, r.start = true, s, s, c
		r.slots[mod(s, n)] = c
		return
	}
	if s < r.last {
		s = r.last
	}
	carry := r.slots[mod(r.last, n)]
	for k := r.last + 1; k < s && k <= r.last+n; k++ {
		r.slots[mod(k, n)] = carry
	}
	r.slots[mod(s, n)] = c
	r.last = s
}

func mod(a, n int64) int64 {
	m := a % n
	if m < 0 {
		m += n
	}
	return m
}

// at returns the counts at time x: those of the newest evaluation at or
// before x (see sloRing).
func (r *sloRing) at(x int64) sloCount {
	s := r.slot(x)
	if s > r.last {
		return r.slots[mod(r.last, int64(len(r.slots)))]
	}
	for range 2 {
		if s < r.first || s <= r.last-int64(len(r.slots)) {
			break
		}
		if c := r.slots[mod(s, int64(len(r.slots)))]; c.t <= x {
			return c
		}
		s--
	}
	if r.fromZero && x <= r.zeroAt {
		return sloCount{t: r.zeroAt}
	}
	return r.start
}

// increase returns the increase of the counts over the window ending at
// now, whose counts are cur.
func (r *sloRing) increase(cur sloCount) (errors, total float64) {
	base := r.at(cur.t - int64(r.window))
	return cur.errors - base.errors, cur.total - base.total
}

// covered returns how much of the window ending at now the ring's history
// covers: the window, or less while the history (from when the counts
// started, when known, or from the first counts pushed) is shorter.
func (r *sloRing) covered(now int64) time.Duration {
	origin := r.start.t
	if r.fromZero {
		origin = min(origin, r.zeroAt)
	}
	return min(r.window, time.Duration(now-origin))
}
