package breaker

import (
	"time"
)

// The state machine's transitions, made under the breaker's mutex, and the
// listeners told of them after it is released.

// expiredLocked reports whether the breaker is open and its open period
// has ended. Only an open breaker reads the clock.
func (b *Breaker) expiredLocked() bool {
	return b.state == Open && b.mode != ModeForcedOpen && b.now() >= b.openUntil
}

// expireLocked moves an open breaker whose open period has ended to
// HalfOpen.
func (b *Breaker) expireLocked() StateChange {
	if !b.expiredLocked() {
		return StateChange{}
	}
	return b.transitionLocked(HalfOpen, b.mode, Counts{})
}

// transitionLocked moves the breaker to state to and mode, starting a new
// generation, and returns the event to pass to notify once mu is released.
func (b *Breaker) transitionLocked(to State, mode Mode, counts Counts) StateChange {
	switch to {
	case Closed:
		b.bo.Reset()
		b.trips = 0
	case Open:
		if mode != ModeForcedOpen {
			now := b.now()
			b.openUntil = now + int64(b.openPeriodLocked(now))
		}
	}
	from := b.state
	b.state, b.mode = to, mode
	b.gen++
	b.fails, b.succ, b.inflight = 0, 0, 0
	if from != to {
		b.transitions[from][to]++
	}
	return StateChange{Name: b.name, From: from, To: to, Counts: counts}
}

// openPeriodLocked returns the length of the open period that starts now:
// exactly OpenTimeout on the first trip since the breaker closed, then the
// next (jittered, growing) backoff step; at least to the end of a pending
// Retry-After window, at most MaxOpenTimeout.
func (b *Breaker) openPeriodLocked(now int64) time.Duration {
	limit := b.cfg.MaxOpenTimeout
	d := b.bo.NextBackOff() // advanced on every trip, so growth starts from the second
	if b.trips == 0 {
		d = b.cfg.OpenTimeout
	}
	b.trips++
	if d < 0 || d > limit {
		d = limit
	}
	if ra := time.Duration(b.retryUntil - now); ra > d {
		d = min(ra, limit)
	}
	return d
}

// notify calls the listeners; mu must not be held.
func (b *Breaker) notify(ev StateChange) {
	if ev.From == ev.To {
		return
	}
	for _, l := range b.listeners {
		l(ev)
	}
}

// now returns the time since New in nanoseconds: monotonic with the wall
// clock, and exact with a fake one.
func (b *Breaker) now() int64 { return int64(b.clock.Now().Sub(b.epoch)) }
