package otelmon

import (
	"context"
	"testing"
	"time"
)

// The paths the documentation calls allocation-free allocate nothing, for
// a source, cache type or service seen before, with tracing off, and a
// monitored job allocates what it did before tracing existed. These are
// counts, not timings: they hold on any machine, with -race too.
func TestAllocationFreePaths(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestMonitor(t, DefaultConfig(), WithAPIKey(testKey))
	m.RecordSyncOperation(ctx, "imdb", true, time.Second, 1, 1, 10)
	m.RecordSyncOperation(ctx, "tmdb", false, time.Second, 0, 0, 0)
	m.RecordCacheHit(ctx, "movie_cache")
	m.RecordCacheMiss(ctx, "movie_cache")
	job := m.MonitoredSyncHandler(SyncHandlerFunc(func(context.Context, SyncJob) (SyncResult, error) {
		return SyncResult{ItemsFound: 3}, nil
	}))
	trakt := SyncJob{Source: "trakt"}
	if _, err := job.ExecuteSync(ctx, trakt); err != nil {
		t.Fatal(err)
	}
	if err := m.ExecuteWithCircuitBreaker(ctx, "plex", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	shorter, cancel := context.WithTimeout(ctx, time.Second) // ends before plex's 20 s request timeout: no timer
	defer cancel()
	call := func(context.Context) error { return nil }

	for _, tc := range []struct {
		name string
		f    func()
		want float64
	}{
		{"RecordSyncOperation success", func() { m.RecordSyncOperation(ctx, "imdb", true, time.Second, 1, 1, 10) }, 0},
		{"RecordSyncOperation failure", func() { m.RecordSyncOperation(ctx, "tmdb", false, time.Second, 0, 0, 0) }, 0},
		{"RecordCacheHit", func() { m.RecordCacheHit(ctx, "movie_cache") }, 0},
		{"RecordCacheMiss", func() { m.RecordCacheMiss(ctx, "movie_cache") }, 0},
		{"closed breaker call within the caller's deadline", func() { _ = m.ExecuteWithCircuitBreaker(shorter, "plex", call) }, 0},
		// A job allocates its answers record and the context that carries
		// its admission; tracing off adds nothing to that.
		{"untraced monitored job", func() { _, _ = job.ExecuteSync(shorter, trakt) }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(200, tc.f); n != tc.want {
				t.Errorf("%s allocates %v times per call, want %v", tc.name, n, tc.want)
			}
		})
	}
}
