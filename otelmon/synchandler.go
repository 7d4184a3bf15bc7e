package otelmon

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/listsync/otelmon/breaker"
)

// SyncJob is one sync of a list.
type SyncJob struct {
	// Source names the service the list comes from ("imdb", "tmdb", ...). It
	// picks the circuit breaker and labels the metrics.
	Source string
	// ID identifies the job for the host (a list ID, say). Optional.
	ID string
}

// SyncResult is what a sync did, as in the reference service's SyncResult.
type SyncResult struct {
	ItemsFound   uint64 `json:"itemsFound"`
	ItemsAdded   uint64 `json:"itemsAdded"`
	ItemsUpdated uint64 `json:"itemsUpdated"`
}

// SyncHandler runs a sync job.
type SyncHandler interface {
	ExecuteSync(ctx context.Context, job SyncJob) (SyncResult, error)
}

// SyncHandlerFunc adapts a function to SyncHandler.
type SyncHandlerFunc func(ctx context.Context, job SyncJob) (SyncResult, error)

// ExecuteSync calls f.
func (f SyncHandlerFunc) ExecuteSync(ctx context.Context, job SyncJob) (SyncResult, error) {
	return f(ctx, job)
}

// MonitoredSyncHandler wraps h so that every job runs through its source's
// circuit breaker and is recorded with RecordSyncOperation: success or
// failure, duration and items (a failed job's partial counts included). A
// job rejected by an open breaker is recorded as a failed sync and returns
// an error wrapping breaker.ErrOpen. A job that ends while the caller's own
// context is done is not recorded: it says nothing about the source.
//
// The breaker counts the job's outcome once. The job has no overall
// deadline but the caller's; requests made inside it with the Monitor's
// HTTP client for the same service are each bounded by the service's
// request timeout, timed and counted as usual, but not counted by the
// breaker a second time; a 429's Retry-After among them holds the breaker
// open if the job fails. A source without a breaker (an empty name, or a
// full registry) runs unguarded.
func (m *Monitor) MonitoredSyncHandler(h SyncHandler) SyncHandler {
	var warnOnce sync.Once
	return SyncHandlerFunc(func(ctx context.Context, job SyncJob) (res SyncResult, err error) {
		start := m.clock.Now()
		returned := false // h returned (or was rejected) rather than panicked
		defer func() {
			if ctx.Err() != nil {
				return
			}
			m.RecordSyncOperation(ctx, job.Source, returned && err == nil, m.clock.Now().Sub(start),
				res.ItemsAdded, res.ItemsUpdated, res.ItemsFound)
		}()
		b, berr := m.breakers.Get(job.Source)
		if berr != nil {
			warnOnce.Do(func() {
				m.logger.Warn("otelmon: sync jobs run without a circuit breaker", "source", job.Source, "err", berr)
			})
			res, err = h.ExecuteSync(ctx, job)
			returned = true
			return res, err
		}
		ticket, err := b.Admit(ctx)
		if err != nil {
			returned = true
			return SyncResult{}, err
		}
		held := &heldJob{b: b}
		defer func() {
			if !returned { // h panicked: a failure, and the panic goes on
				ticket.Done(errSyncPanicked)
				ticket.Release()
			}
		}()
		res, err = h.ExecuteSync(context.WithValue(ctx, heldJobKey{}, held), job)
		returned = true
		ticket.Done(held.outcome(err))
		ticket.Release()
		return res, err
	})
}

var errSyncPanicked = errors.New("otelmon: sync job panicked")

type heldJobKey struct{}

// heldJob marks a context as running inside a monitored sync job that
// holds b, so the HTTP transport of the same service neither counts its
// requests against b again nor leaves them unbounded.
type heldJob struct {
	b          *breaker.Breaker
	retryAfter atomic.Int64 // longest Retry-After seen, in nanoseconds
}

func heldJobOf(ctx context.Context, b *breaker.Breaker) *heldJob {
	if h, _ := ctx.Value(heldJobKey{}).(*heldJob); h != nil && h.b == b {
		return h
	}
	return nil
}

// noteRetryAfter keeps the longest Retry-After of the job's requests.
func (h *heldJob) noteRetryAfter(d time.Duration) {
	for {
		cur := h.retryAfter.Load()
		if int64(d) <= cur || h.retryAfter.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// outcome is the error the breaker judges the job by: err itself, carrying
// the longest Retry-After of its requests when there was one.
func (h *heldJob) outcome(err error) error {
	if ra := time.Duration(h.retryAfter.Load()); err != nil && ra > 0 {
		return &retryAfterError{err: err, after: ra}
	}
	return err
}

// retryAfterError is a job error with the Retry-After its requests saw.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }
