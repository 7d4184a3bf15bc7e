package otelmon

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/breaker"
)

func TestMonitoredSyncHandler(t *testing.T) {
	srv := statusServer(t)
	m, clk := newTestMonitor(t, DefaultConfig())
	client := m.HTTPClient("plex")
	fail := true
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, job SyncJob) (SyncResult, error) {
		clk.Advance(2 * time.Second) // the sync takes 2 s of fake time
		path := "/200"
		if fail {
			path = "/500"
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			return SyncResult{}, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return SyncResult{}, errors.New(resp.Status)
		}
		return SyncResult{ItemsFound: 10, ItemsAdded: 3, ItemsUpdated: 1}, nil
	}))
	ctx := context.Background()
	job := SyncJob{Source: "plex"}

	res, err := func() (SyncResult, error) { fail = false; return h.ExecuteSync(ctx, job) }()
	if err != nil || res.ItemsAdded != 3 {
		t.Fatalf("good sync: %+v %v", res, err)
	}
	fail = true
	// plex opens on its 2nd consecutive failure; each failed sync counts
	// once, although its HTTP request failed too.
	if _, err := h.ExecuteSync(ctx, job); err == nil {
		t.Fatal("failing sync succeeded")
	}
	b, _ := m.Breaker("plex")
	if b.State() != breaker.Closed {
		t.Fatalf("one failed sync opened the breaker (double counting): %v", b.State())
	}
	_, _ = h.ExecuteSync(ctx, job)
	if _, err := h.ExecuteSync(ctx, job); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("third sync: %v", err)
	}
	st := m.sync.syncStatuses()
	if len(st) != 1 || st[0].Succeeded != 1 || st[0].Failed != 3 || st[0].ItemsAdded != 3 || st[0].ItemsFound != 10 ||
		st[0].ConsecutiveFailures != 3 || st[0].LastDurationSeconds != 0 {
		t.Fatalf("recorded %+v", st)
	}
	text, _ := m.PrometheusMetrics(ctx)
	// Three syncs ran for 2 s of fake time; the rejected one took none.
	if !strings.Contains(text, `radarr_list_sync_sync_duration_seconds_bucket{source="plex",le="1"} 1`) ||
		!strings.Contains(text, `radarr_list_sync_sync_duration_seconds_bucket{source="plex",le="2.5"} 4`) {
		t.Errorf("durations not recorded from the fake clock:\n%s", text)
	}

	// A caller's cancellation is not a failed sync.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	h2 := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, _ SyncJob) (SyncResult, error) {
		return SyncResult{}, ctx.Err()
	}))
	_, _ = h2.ExecuteSync(cctx, SyncJob{Source: "trakt"})
	for _, s := range m.sync.syncStatuses() {
		if s.Source == "trakt" {
			t.Fatalf("canceled sync recorded: %+v", s)
		}
	}
}
