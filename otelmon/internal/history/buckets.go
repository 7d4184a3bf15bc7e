package history

import (
	"math"
	"slices"
)

// The history's buckets: what one bucket of a source or a service holds,
// the rings of closed buckets at each resolution, and how a collection's
// readings and the transitions feed them.

// sourcePoint is one bucket of a source: sync outcomes and the sum of the
// durations the duration histogram recorded. 16 bytes.
type sourcePoint struct {
	succeeded, failed uint32
	durCount          uint32
	durSum            float32 // seconds
}

func (p *sourcePoint) add(q sourcePoint) {
	p.succeeded += q.succeeded
	p.failed += q.failed
	p.durCount += q.durCount
	p.durSum += q.durSum
}

// Gauge codes of a servicePoint; 0 is "not read in this bucket".
const (
	upUnknown uint8 = iota
	upDown
	upUp
)

// servicePoint is one bucket of a service. breaker is 0 when not known,
// else 1 + the breaker state (closed 0, open 1, half-open 2). A bucket
// keeps the worst state it saw, from its start (the state the bucket
// before ended in), transitions and readings: down over up, open over
// half-open over closed. 24 bytes.
type servicePoint struct {
	requests, limited uint32
	latCount          uint32
	p50, p95          float32 // seconds; meaningful when latCount > 0
	up, breaker       uint8
}

// breakerRank orders breaker codes from best to worst.
var breakerRank = [4]uint8{0, 1, 3, 2} // none, closed, open, half-open

func worseUp(a, b uint8) uint8 {
	if a == upUnknown || (b != upUnknown && b < a) {
		return b
	}
	return a
}

func worseBreaker(a, b uint8) uint8 {
	if int(b) < len(breakerRank) && breakerRank[b] > breakerRank[a] {
		return b
	}
	return a
}

// ring keeps the closed buckets of one series at one resolution, by bucket
// number (time / step) modulo its size.
type ring[P any] struct {
	slots  []P
	first  int64 // the series' first bucket
	newest int64 // the newest closed bucket; first-1 when none
}

func newRing[P any](n int, first int64) ring[P] {
	return ring[P]{slots: make([]P, n), first: first, newest: first - 1}
}

// put stores the closed bucket b, clearing the buckets skipped since the
// newest one (no collection ran in them).
func (r *ring[P]) put(b int64, p P) {
	n := int64(len(r.slots))
	var zero P
	for g := max(r.newest+1, b-n+1); g < b; g++ {
		r.slots[g%n] = zero
	}
	r.slots[b%n] = p
	r.newest = b
}

// at returns bucket b and whether the series has it: not before its first
// bucket, nor once the ring has moved past it. A bucket after the newest is
// empty (no collection closed it).
func (r *ring[P]) at(b int64) (P, bool) {
	var zero P
	if b < r.first || b <= r.newest-int64(len(r.slots)) {
		return zero, false
	}
	if b > r.newest {
		return zero, true
	}
	return r.slots[b%int64(len(r.slots))], true
}

// level is one resolution of a series: closed buckets and the open one.
type level[P any] struct {
	ring  ring[P]
	open  P
	openB int64
}

// newLevels returns the levels of a series first seen at tn (UnixNano).
func newLevels[P any](tn int64) [2]level[P] {
	var ls [2]level[P]
	for i, l := range levels {
		b := tn / int64(l.step)
		ls[i] = level[P]{ring: newRing[P](l.points, b), openB: b}
	}
	return ls
}

// at returns bucket b of the level: the open one, a closed one, or an
// empty one after the open one (no collection since); false when the
// series has no such bucket.
func (l *level[P]) at(b int64) (P, bool) {
	var zero P
	switch {
	case b == l.openB:
		return l.open, true
	case b > l.openB:
		return zero, true
	}
	return l.ring.at(b)
}

// sourceHistory is a source's history and its last cumulative readings.
type sourceHistory struct {
	levels   [2]level[sourcePoint]
	prev     sourceReading
	lastSeen int64 // UnixNano of the last collection that reported it
}

// serviceLevel is one resolution of a service; openBuckets are the open
// bucket's latency histogram counts, for its quantiles.
type serviceLevel struct {
	level[servicePoint]
	openBuckets []uint64
}

// serviceHistory is a service's history and its last cumulative readings.
type serviceHistory struct {
	levels   [2]serviceLevel
	prev     serviceReading
	bounds   []float64 // latency bucket bounds, as last read (prev.bounds is not kept)
	lo, hi   float64   // the latency histogram's smallest and largest value, as last read; NaN when unknown
	lastSeen int64

	// up and breaker are the service's state as last told or read: the
	// state a new bucket starts in. noted is the history's notes count at
	// the last transition told, so that a collection whose reading began
	// before it does not take the state back.
	up, breaker uint8
	noted       uint64
}

// increase is the increase of a cumulative value from prev to cur; a drop
// is a restart from zero.
func increase(prev, cur uint64) uint64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

func clamp32(v uint64) uint32 { return uint32(min(v, math.MaxUint32)) }

func (s *sourceHistory) feed(r *sourceReading, tn int64) {
	d := sourcePoint{
		succeeded: clamp32(increase(s.prev.succeeded, r.succeeded)),
		failed:    clamp32(increase(s.prev.failed, r.failed)),
	}
	if r.durCount < s.prev.durCount {
		d.durCount, d.durSum = clamp32(r.durCount), float32(r.durSum)
	} else {
		d.durCount, d.durSum = clamp32(r.durCount-s.prev.durCount), float32(r.durSum-s.prev.durSum)
	}
	s.prev, s.lastSeen = *r, tn
	for i := range s.levels {
		l := &s.levels[i]
		if b := tn / int64(levels[i].step); b > l.openB {
			l.ring.put(l.openB, l.open)
			l.open, l.openB = sourcePoint{}, b
		}
		// A collection for an earlier bucket (a query's raced with the
		// sampler's) counts in the open one.
		l.open.add(d)
	}
}

func (s *serviceHistory) feed(r *serviceReading, tn int64, notes uint64) {
	d := servicePoint{
		requests: clamp32(increase(s.prev.requests, r.requests)),
		limited:  clamp32(increase(s.prev.limited, r.limited)),
	}
	// Bucket increases; all of them restart when the count dropped or the
	// bounds changed.
	var buckets []uint64
	if len(r.latBuckets) > 0 {
		buckets = make([]uint64, len(r.latBuckets))
		reset := r.latCount < s.prev.latCount || len(s.prev.latBuckets) != len(r.latBuckets)
		if !slices.Equal(s.bounds, r.bounds) {
			reset = true
			s.bounds = slices.Clone(r.bounds)
		}
		for i, c := range r.latBuckets {
			if reset {
				buckets[i] = c
			} else {
				buckets[i] = increase(s.prev.latBuckets[i], c)
			}
		}
		if reset {
			d.latCount = clamp32(r.latCount)
		} else {
			d.latCount = clamp32(r.latCount - s.prev.latCount)
		}
		s.lo, s.hi = r.lo, r.hi
	}
	s.prev = serviceReading{requests: r.requests, limited: r.limited, latCount: r.latCount,
		latBuckets: append(s.prev.latBuckets[:0], r.latBuckets...)}
	s.lastSeen = tn
	s.roll(tn)
	// The gauges' reading is the state from now on, unless a transition
	// told since the reading began is newer.
	if s.noted <= notes {
		if r.up != upUnknown {
			s.up = r.up
		}
		if r.breaker != 0 {
			s.breaker = r.breaker
		}
	}
	for i := range s.levels {
		l := &s.levels[i]
		l.open.requests += d.requests
		l.open.limited += d.limited
		l.open.latCount += d.latCount
		l.mark(r.up, r.breaker)
		l.mark(s.up, s.breaker)
		if len(buckets) > 0 {
			if len(l.openBuckets) != len(buckets) {
				l.openBuckets = make([]uint64, len(buckets))
			}
			for j, c := range buckets {
				l.openBuckets[j] += c
			}
		}
	}
}

// roll closes the open buckets that end before tn. The buckets opened,
// and those skipped (no collection ran in them), are in the service's
// current state: no transition came since. A time in or before the open
// bucket (a query's collection raced with the sampler's) counts in the
// open one.
func (s *serviceHistory) roll(tn int64) {
	state := servicePoint{up: s.up, breaker: s.breaker}
	for i := range s.levels {
		l := &s.levels[i]
		b := tn / int64(levels[i].step)
		if b <= l.openB {
			continue
		}
		l.ring.put(l.openB, l.closed(s.bounds, s.lo, s.hi))
		for g := max(l.openB+1, b-int64(len(l.ring.slots))+1); g < b; g++ {
			l.ring.put(g, state)
		}
		l.open, l.openB = state, b
		clear(l.openBuckets)
	}
}

// mark makes the open bucket's state the worse of what it saw and up and
// breaker.
func (l *serviceLevel) mark(up, breaker uint8) {
	l.open.up = worseUp(l.open.up, up)
	l.open.breaker = worseBreaker(l.open.breaker, breaker)
}

// closed returns the open bucket with its quantiles worked out, within
// the histogram's extrema lo and hi.
func (l *serviceLevel) closed(bounds []float64, lo, hi float64) servicePoint {
	p := l.open
	if p.latCount > 0 {
		p.p50 = float32(bucketQuantile(0.5, bounds, l.openBuckets, lo, hi))
		p.p95 = float32(bucketQuantile(0.95, bounds, l.openBuckets, lo, hi))
	}
	return p
}

// bucketQuantile estimates the q-quantile from histogram bucket counts
// (len(bounds)+1 of them, the last one above every bound) by linear
// interpolation within the bucket, as Prometheus' histogram_quantile does:
// the first bucket starts at 0, and a quantile in the last, unbounded one
// is its lower bound. lo and hi, when not NaN, are the smallest and largest
// value the histogram has seen (an OTel histogram's Min and Max): they
// narrow the bucket interpolated in, as a native histogram's edges do, so
// that 0.4 ms requests in a 0–5 ms bucket give no 4.8 ms p95, and the
// estimate never falls outside them. It returns NaN when there are no
// counts.
func bucketQuantile(q float64, bounds []float64, counts []uint64, lo, hi float64) float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 || len(counts) != len(bounds)+1 || len(bounds) == 0 {
		return math.NaN()
	}
	within := func(v float64) float64 {
		if !math.IsNaN(lo) {
			v = max(v, lo)
		}
		if !math.IsNaN(hi) {
			v = min(v, hi)
		}
		return v
	}
	rank := q * float64(total)
	var below uint64
	for i, c := range counts {
		if c == 0 || float64(below+c) < rank {
			below += c
			continue
		}
		lower, upper := 0.0, math.Inf(1)
		if i > 0 {
			lower = bounds[i-1]
		}
		if i < len(bounds) {
			upper = bounds[i]
		}
		lower, upper = within(lower), within(upper)
		if math.IsInf(upper, 1) {
			return lower
		}
		return lower + (upper-lower)*(rank-float64(below))/float64(c)
	}
	return within(bounds[len(bounds)-1])
}
