package alerting

import (
	"math"
	"testing"
	"time"
)

// at is a time in minutes after t0, as UnixNano.
func at(minutes float64) int64 {
	return t0.Add(time.Duration(minutes * float64(time.Minute))).UnixNano()
}

func TestSLORingReadsTheWindowStart(t *testing.T) {
	type push struct {
		min    float64
		errors float64
		total  float64
	}
	cases := []struct {
		name     string
		window   time.Duration
		interval time.Duration
		fromZero bool    // the counts started at zeroAt
		zeroAt   float64 // minutes
		pushes   []push
		now      float64 // minutes: the last push's
		want     [2]float64
	}{
		{
			name: "an evaluation every minute: the counts 5 min ago exactly", window: 5 * time.Minute, interval: time.Minute,
			pushes: []push{{0, 0, 1}, {1, 0, 2}, {2, 1, 3}, {3, 1, 4}, {4, 1, 5}, {5, 2, 6}, {6, 2, 7}, {7, 3, 8}},
			now:    7, want: [2]float64{3 - 1, 8 - 3},
		},
		{
			name: "nothing read since: the counts carry over the slots", window: 5 * time.Minute, interval: time.Minute,
			pushes: []push{{0, 0, 1}, {1, 1, 2}, {30, 4, 9}},
			now:    30, want: [2]float64{3, 7},
		},
		{
			name: "a gap longer than the ring", window: 5 * time.Minute, interval: time.Minute,
			pushes: []push{{0, 0, 1}, {1, 1, 2}, {100, 1, 2}, {103, 2, 4}},
			now:    103, want: [2]float64{1, 2},
		},
		{
			name: "history shorter than the window, counts started before it: from the first counts (a lower bound)", window: time.Hour, interval: time.Minute,
			pushes: []push{{0, 5, 50}, {10, 6, 60}},
			now:    10, want: [2]float64{1, 10},
		},
		{
			name: "history shorter than the window, counts started within it: from zero", window: time.Hour, interval: time.Minute,
			fromZero: true, zeroAt: -2,
			pushes: []push{{0, 5, 50}, {10, 6, 60}},
			now:    10, want: [2]float64{6, 60},
		},
		{
			name: "history shorter than the window, counts started before the window: from the first counts", window: time.Hour, interval: time.Minute,
			fromZero: true, zeroAt: -120,
			pushes: []push{{0, 5, 50}, {10, 6, 60}},
			now:    10, want: [2]float64{1, 10},
		},
		{
			name: "two evaluations in one slot, the second after the window start: the slot before", window: 10 * time.Minute, interval: time.Minute,
			pushes: []push{{0, 0, 0}, {1, 1, 1}, {2, 2, 2}, {2.5, 3, 3}, {12.25, 10, 10}},
			now:    12.25, want: [2]float64{10 - 1, 10 - 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newSLORing(c.window, c.interval)
			r.fromZero, r.zeroAt = c.fromZero, math.MinInt64
			if c.fromZero {
				r.zeroAt = at(c.zeroAt)
			}
			var cur sloCount
			for _, p := range c.pushes {
				cur = sloCount{t: at(p.min), errors: p.errors, total: p.total}
				r.push(cur)
			}
			if cur.t != at(c.now) {
				t.Fatalf("last push at %d, now %d", cur.t, at(c.now))
			}
			e, n := r.increase(cur)
			if got := [2]float64{e, n}; got != c.want {
				t.Errorf("increase over %s = %v, want %v", c.window, got, c.want)
			}
		})
	}
}

func TestSLORingIsBounded(t *testing.T) {
	for _, c := range []struct {
		window, interval time.Duration
		slots            int
	}{
		{5 * time.Minute, time.Minute, 7},   // a slot per evaluation
		{5 * time.Minute, time.Second, 102}, // a hundredth of the window
		{DefaultSLOPeriod, time.Minute, 102},
		{72 * time.Hour, 15 * time.Second, 102},
	} {
		r := newSLORing(c.window, c.interval)
		n := 2*int(c.window/c.interval) + 10
		for i := range n {
			r.push(sloCount{t: t0.Add(time.Duration(i) * c.interval).UnixNano(), errors: float64(i)})
		}
		if len(r.slots) != c.slots || cap(r.slots) != c.slots {
			t.Errorf("ring of %s at %s: %d slots (cap %d), want %d", c.window, c.interval, len(r.slots), cap(r.slots), c.slots)
		}
		// The window's increase is exact to a slot (it reads up to a slot
		// longer): the counts grow by one an interval.
		cur := sloCount{t: t0.Add(time.Duration(n) * c.interval).UnixNano(), errors: float64(n)}
		r.push(cur)
		e, _ := r.increase(cur)
		want := float64(c.window / c.interval)
		if tol := float64(r.res) / float64(c.interval); e < want || e > want+tol {
			t.Errorf("ring of %s at %s: increase %g, want %g within %g", c.window, c.interval, e, want, tol)
		}
	}
}
