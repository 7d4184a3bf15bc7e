package otelmon_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/otelmon"
)

// printSeries prints the exposition lines of one metric family.
func printSeries(text, family string) {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, family+"{") {
			fmt.Println(line)
		}
	}
}

func Example() {
	ctx := context.Background()
	mon, err := otelmon.New(otelmon.DefaultConfig(), otelmon.WithAPIKey("example-key"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mon.Shutdown(ctx)

	mon.RecordSyncOperation(ctx, "imdb", true, 1500*time.Millisecond, 5, 2, 10)
	mon.RecordSyncOperation(ctx, "tmdb", false, 3*time.Second, 0, 0, 0)
	mon.RecordCacheHit(ctx, "movie_cache")

	text, err := mon.PrometheusMetrics(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	printSeries(text, "radarr_list_sync_sync_operations_total")
	printSeries(text, "radarr_list_sync_consecutive_failures")
	printSeries(text, "radarr_list_sync_cache_hits_total")
	// Output:
	// radarr_list_sync_sync_operations_total{source="imdb"} 1
	// radarr_list_sync_sync_operations_total{source="tmdb"} 1
	// radarr_list_sync_consecutive_failures{source="imdb"} 0
	// radarr_list_sync_consecutive_failures{source="tmdb"} 1
	// radarr_list_sync_cache_hits_total{type="movie_cache"} 1
}

func ExampleMonitor_ExecuteWithCircuitBreaker() {
	ctx := context.Background()
	mon, err := otelmon.New(otelmon.DefaultConfig(), otelmon.WithAPIKey("example-key"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mon.Shutdown(ctx)

	down := errors.New("plex is down")
	for i := 0; i < 3; i++ { // plex's breaker opens on the 2nd consecutive failure
		err := mon.ExecuteWithCircuitBreaker(ctx, "plex", func(context.Context) error { return down })
		fmt.Println(err, errors.Is(err, breaker.ErrOpen))
	}
	// Output:
	// plex is down false
	// plex is down false
	// breaker "plex": circuit breaker is open true
}

func ExampleMonitor_MonitoredSyncHandler() {
	ctx := context.Background()
	mon, err := otelmon.New(otelmon.DefaultConfig(), otelmon.WithAPIKey("example-key"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mon.Shutdown(ctx)

	// Any sync implementation; the decorator adds the breaker and metrics.
	sync := otelmon.SyncHandlerFunc(func(ctx context.Context, job otelmon.SyncJob) (otelmon.SyncResult, error) {
		return otelmon.SyncResult{ItemsFound: 12, ItemsAdded: 3, ItemsUpdated: 1}, nil
	})
	h := mon.MonitoredSyncHandler(sync)
	res, err := h.ExecuteSync(ctx, otelmon.SyncJob{Source: "trakt"})
	fmt.Println(res.ItemsAdded, err)

	text, _ := mon.PrometheusMetrics(ctx)
	printSeries(text, "radarr_list_sync_items_found_total")
	printSeries(text, "radarr_list_sync_sync_operations_success_total")
	// Output:
	// 3 <nil>
	// radarr_list_sync_items_found_total{source="trakt"} 12
	// radarr_list_sync_sync_operations_success_total{source="trakt"} 1
}
