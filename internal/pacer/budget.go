package pacer

import (
	"sync"
	"time"
)

// RetryBudget bounds retries to a share of the requests over a sliding
// window, plus a small floor, as Finagle's RetryBudget and gRPC's retry
// throttling do: while a service is down, retries cannot multiply the load
// sent to it. It is safe for concurrent use.
type RetryBudget struct {
	ratio float64 // retries allowed per request
	floor int     // retries allowed per window whatever the requests

	mu      sync.Mutex // guards slots
	slots   [budgetSlots]budgetSlot
	slotLen int64 // nanoseconds
}

type budgetSlot struct {
	start             int64
	requests, retries int
}

const budgetSlots = 10

// NewRetryBudget returns a budget allowing floor retries plus ratio per
// request over each window.
func NewRetryBudget(ratio float64, floor int, window time.Duration) *RetryBudget {
	return &RetryBudget{ratio: ratio, floor: floor, slotLen: int64(window / budgetSlots)}
}

// Request counts a request (its first attempt) at now.
func (b *RetryBudget) Request(now time.Time) {
	b.mu.Lock()
	b.slot(now).requests++
	b.mu.Unlock()
}

// TryRetry reports whether a retry at now fits the budget, and counts it
// when it does.
func (b *RetryBudget) TryRetry(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.slot(now)
	from := now.UnixNano() - b.slotLen*budgetSlots
	requests, retries := 0, 0
	for _, s := range b.slots {
		if s.start > from {
			requests += s.requests
			retries += s.retries
		}
	}
	if float64(retries) >= float64(b.floor)+b.ratio*float64(requests) {
		return false
	}
	cur.retries++
	return true
}

// slot returns now's slot, emptied when it held an older one.
func (b *RetryBudget) slot(now time.Time) *budgetSlot {
	start := now.UnixNano() / b.slotLen * b.slotLen
	s := &b.slots[(start/b.slotLen)%budgetSlots]
	if s.start != start {
		*s = budgetSlot{start: start}
	}
	return s
}
