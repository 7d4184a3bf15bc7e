package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a manually driven clock for tests. Its zero value is not usable;
// create one with [NewFake]. It is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeWaiter
	changed chan struct{} // closed and replaced whenever the set of waiters changes
}

var _ Clock = (*Fake)(nil)

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

type fakeWaiter struct {
	clock    *Fake
	deadline time.Time
	ch       chan time.Time
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer arms a timer that fires when the fake time reaches now+d.
func (f *Fake) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	w := &fakeWaiter{clock: f, ch: make(chan time.Time, 1)}
	f.mu.Lock()
	w.deadline = f.now.Add(d)
	f.addLocked(w)
	f.mu.Unlock()
	if d <= 0 {
		f.Advance(0)
	}
	return w.ch, w.stop
}

// Advance moves the fake time forward by d and fires every timer that falls
// due, in deadline order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].deadline.Before(f.waiters[j].deadline) })
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w.deadline.After(f.now) {
			kept = append(kept, w)
			continue
		}
		select {
		case w.ch <- w.deadline:
		default:
		}
	}
	f.waiters = kept
	f.notifyLocked()
}

// Timers returns how many timers are armed.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// BlockUntilTimers blocks until at least n timers are armed. Tests
// call it to know that the component under test is waiting before they call
// [Fake.Advance].
func (f *Fake) BlockUntilTimers(n int) {
	for {
		f.mu.Lock()
		if len(f.waiters) >= n {
			f.mu.Unlock()
			return
		}
		ch := f.changed
		f.mu.Unlock()
		<-ch
	}
}

func (f *Fake) addLocked(w *fakeWaiter) {
	f.waiters = append(f.waiters, w)
	f.notifyLocked()
}

func (f *Fake) removeLocked(w *fakeWaiter) bool {
	for i, x := range f.waiters {
		if x == w {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			f.notifyLocked()
			return true
		}
	}
	return false
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (w *fakeWaiter) stop() bool {
	f := w.clock
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.removeLocked(w)
}
