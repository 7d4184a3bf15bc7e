package otelmon

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

// seriesNames are the families this package defines, as the exposition
// shows them with the default namespace and subsystem.
var seriesNames = []string{
	"radarr_list_sync_sync_operations_total",
	"radarr_list_sync_sync_operations_success_total",
	"radarr_list_sync_sync_operations_failed_total",
	"radarr_list_sync_sync_duration_seconds",
	"radarr_list_sync_items_added_total",
	"radarr_list_sync_items_updated_total",
	"radarr_list_sync_items_found_total",
	"radarr_list_sync_consecutive_failures",
	"radarr_list_sync_last_successful_sync_timestamp",
	"radarr_list_sync_cache_hits_total",
	"radarr_list_sync_cache_misses_total",
}

func recordSample(m *Monitor) {
	ctx := context.Background()
	m.RecordSyncOperation(ctx, "imdb", true, 1500*time.Millisecond, 5, 2, 10)
	m.RecordSyncOperation(ctx, "tmdb", false, 400*time.Second, 0, 0, 0)
	m.RecordSyncOperation(ctx, "tmdb", false, 20*time.Second, 0, 0, 0)
	m.RecordCacheHit(ctx, "movie_cache")
	m.RecordCacheHit(ctx, "movie_cache")
	m.RecordCacheMiss(ctx, "movie_cache")
}

// goldenCompare compares the exposition of the named families with
// testdata/name, or rewrites it under -update.
func goldenCompare(t *testing.T, m *Monitor, name string, families ...string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		text, err := m.PrometheusMetrics(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var keep []string
		for _, line := range strings.SplitAfter(text, "\n") {
			for _, f := range families {
				if strings.HasPrefix(line, f+"{") || strings.HasPrefix(line, f+"_bucket") || strings.HasPrefix(line, f+"_sum") ||
					strings.HasPrefix(line, f+"_count") || strings.HasPrefix(line, f+" ") || strings.Contains(line, " "+f+" ") {
					keep = append(keep, line)
					break
				}
			}
		}
		if err := os.WriteFile(path, []byte(strings.Join(keep, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.GatherAndCompare(m.pipe.prometheus.Gatherer(), f, families...); err != nil {
		t.Fatal(err)
	}
}

func TestSyncMetricsExposition(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig())
	recordSample(m)
	goldenCompare(t, m, "sync.golden", seriesNames...)
}

func TestSyncMetricsLint(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig())
	recordSample(m)
	problems, err := testutil.GatherAndLint(m.pipe.prometheus.Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		// A gauge of unix seconds is named *_timestamp, as the seed fixes it.
		if p.Metric == "radarr_list_sync_last_successful_sync_timestamp" {
			continue
		}
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestNoScopeLabels(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig())
	recordSample(m)
	text, err := m.PrometheusMetrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "otel_scope_") {
		t.Fatalf("exposition has otel_scope_* labels:\n%s", text)
	}
}

func TestTimingHistogramsOff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Metrics.DisableTimingHistograms = true
	m, _ := newTestMonitor(t, cfg)
	recordSample(m)
	text, _ := m.PrometheusMetrics(context.Background())
	if strings.Contains(text, "sync_duration_seconds") {
		t.Fatal("histogram exported although timing histograms are off")
	}
	if !strings.Contains(text, `radarr_list_sync_sync_operations_total{source="imdb"} 1`) {
		t.Fatalf("counters missing:\n%s", text)
	}
}

func TestNamespaceAndSubsystem(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Metrics.Namespace, cfg.Metrics.Subsystem = "acme", "lists"
	m, _ := newTestMonitor(t, cfg)
	recordSample(m)
	text, _ := m.PrometheusMetrics(context.Background())
	if !strings.Contains(text, `acme_lists_sync_operations_total{source="imdb"} 1`) || strings.Contains(text, "radarr_") {
		t.Fatalf("names do not follow the namespace:\n%s", text)
	}
}

func TestConsecutiveFailuresAndLastSuccess(t *testing.T) {
	m, clk := newTestMonitor(t, DefaultConfig())
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		m.RecordSyncOperation(ctx, "trakt", false, time.Second, 0, 0, 0)
	}
	expect := func(want string) {
		t.Helper()
		err := testutil.GatherAndCompare(m.pipe.prometheus.Gatherer(), strings.NewReader(want),
			"radarr_list_sync_consecutive_failures", "radarr_list_sync_last_successful_sync_timestamp")
		if err != nil {
			t.Fatal(err)
		}
	}
	expect(`
# HELP radarr_list_sync_consecutive_failures Failed sync operations since the last successful one, per source.
# TYPE radarr_list_sync_consecutive_failures gauge
radarr_list_sync_consecutive_failures{source="trakt"} 3
`)
	clk.Advance(90 * time.Second)
	m.RecordSyncOperation(ctx, "trakt", true, time.Second, 0, 0, 0)
	expect(`
# HELP radarr_list_sync_consecutive_failures Failed sync operations since the last successful one, per source.
# TYPE radarr_list_sync_consecutive_failures gauge
radarr_list_sync_consecutive_failures{source="trakt"} 0
# HELP radarr_list_sync_last_successful_sync_timestamp Unix time of the last successful sync operation, per source; absent until one succeeds.
# TYPE radarr_list_sync_last_successful_sync_timestamp gauge
radarr_list_sync_last_successful_sync_timestamp{source="trakt"} 1.70000009e+09
`)
	st := m.sync.syncStatuses()
	if len(st) != 1 || st[0].Source != "trakt" || st[0].LastResult != "success" || st[0].Failed != 3 ||
		!st[0].LastSuccess.Equal(time.Unix(1_700_000_090, 0)) || st[0].LastDurationSeconds != 1 {
		t.Fatalf("sync status = %+v", st)
	}
}

func TestLabelGuards(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Metrics.CardinalityLimit = 3
	m, _ := newTestMonitor(t, cfg)
	ctx := context.Background()
	m.RecordSyncOperation(ctx, "", true, time.Second, 0, 0, 0)
	m.RecordSyncOperation(ctx, "bad\xff\xfe\"\n\\", true, time.Second, 0, 0, 0)
	m.RecordSyncOperation(ctx, strings.Repeat("é", 200), true, time.Second, 0, 0, 0)
	for i := 0; i < 1000; i++ {
		m.RecordSyncOperation(ctx, fmt.Sprintf("src-%d", i), true, time.Second, 0, 0, 0)
	}
	text, err := m.PrometheusMetrics(ctx)
	if err != nil {
		t.Fatalf("exposition failed with odd labels: %v", err)
	}
	for _, want := range []string{
		`radarr_list_sync_sync_operations_total{source="unknown"} 1`,
		`radarr_list_sync_sync_operations_total{source="bad\ufffd\"\n\\"} 1`,
		`radarr_list_sync_sync_operations_total{source="__overflow__"} 1000`,
	} {
		want = strings.NewReplacer(`\ufffd`, "\uFFFD").Replace(want)
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	if n := strings.Count(text, "radarr_list_sync_sync_operations_total{"); n != 4 {
		t.Errorf("%d series of sync_operations_total, want 3 + overflow", n)
	}
	// Spellings that map to one label value must not make duplicate series,
	// which the registry would reject.
	if _, err := m.pipe.prometheus.Gatherer().Gather(); err != nil {
		t.Fatal(err)
	}
}

func TestRecordConcurrently(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig())
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				m.RecordSyncOperation(ctx, []string{"imdb", "tmdb", "trakt", "plex"}[i%4], i%3 != 0, time.Second, 1, 1, 1)
				m.RecordCacheHit(ctx, "movie_cache")
				if i%50 == 0 {
					if _, err := m.PrometheusMetrics(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	text, _ := m.PrometheusMetrics(ctx)
	if !strings.Contains(text, `radarr_list_sync_cache_hits_total{type="movie_cache"} 4000`) ||
		!strings.Contains(text, `radarr_list_sync_sync_operations_total{source="imdb"} 1000`) {
		t.Fatalf("lost updates:\n%s", text)
	}
}
