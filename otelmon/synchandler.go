package otelmon

import (
	"context"
	"errors"

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
// failure, duration and items. A job rejected by an open breaker is
// recorded as a failed sync and returns an error wrapping breaker.ErrOpen.
// A job that ends because the caller's own context was canceled is not
// recorded: it says nothing about the source.
//
// Requests made inside the job with the Monitor's HTTP client for the same
// service are timed and counted as usual but not counted by the breaker a
// second time: the job's outcome is what the breaker sees.
func (m *Monitor) MonitoredSyncHandler(h SyncHandler) SyncHandler {
	return SyncHandlerFunc(func(ctx context.Context, job SyncJob) (SyncResult, error) {
		start := m.clock.Now()
		b, err := m.breakers.Get(job.Source)
		var res SyncResult
		if err == nil {
			res, err = breaker.Do(ctx, b, func(ctx context.Context) (SyncResult, error) {
				return h.ExecuteSync(withHeldBreaker(ctx, b), job)
			})
		}
		d := m.clock.Since(start)
		if err != nil {
			if !errors.Is(err, context.Canceled) || ctx.Err() == nil {
				m.RecordSyncOperation(ctx, job.Source, false, d, 0, 0, 0)
			}
			return res, err
		}
		m.RecordSyncOperation(ctx, job.Source, true, d, res.ItemsAdded, res.ItemsUpdated, res.ItemsFound)
		return res, nil
	})
}

type heldBreakerKey struct{}

// withHeldBreaker marks ctx as running inside b, so the HTTP transport of
// the same service does not count its requests against b again.
func withHeldBreaker(ctx context.Context, b *breaker.Breaker) context.Context {
	return context.WithValue(ctx, heldBreakerKey{}, b)
}

func heldBreaker(ctx context.Context) *breaker.Breaker {
	b, _ := ctx.Value(heldBreakerKey{}).(*breaker.Breaker)
	return b
}
