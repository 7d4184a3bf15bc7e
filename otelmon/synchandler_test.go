package otelmon

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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

func TestMonitoredSyncJobs(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.CircuitBreakers = map[string]breaker.Config{"trakt": {RequestTimeout: 50 * time.Millisecond}}
	cfg.RateLimits = map[string]RateLimit{"plex": {ThrottleIsFailure: true}}
	m, clk := newTestMonitor(t, cfg)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		case "/429":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	t.Cleanup(srv.Close)
	get := func(ctx context.Context, c *http.Client, path string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	}
	status := func(source string) SyncStatus {
		for _, s := range m.sync.syncStatuses() {
			if s.Source == source {
				return s
			}
		}
		return SyncStatus{}
	}

	t.Run("a long job is not cut at the request timeout", func(t *testing.T) {
		h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, _ SyncJob) (SyncResult, error) {
			clk.Advance(time.Minute) // tmdb's request timeout is 10 s
			return SyncResult{ItemsFound: 1}, ctx.Err()
		}))
		if _, err := h.ExecuteSync(ctx, SyncJob{Source: "tmdb"}); err != nil {
			t.Fatal(err)
		}
		if s := status("tmdb"); s.Succeeded != 1 || s.LastDurationSeconds != 60 {
			t.Fatalf("recorded %+v", s)
		}
	})

	t.Run("each request in a job is bounded by the request timeout", func(t *testing.T) {
		c := m.HTTPClient("trakt")
		h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, _ SyncJob) (SyncResult, error) {
			return SyncResult{}, get(ctx, c, "/hang")
		}))
		_, err := h.ExecuteSync(ctx, SyncJob{Source: "trakt"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hanging request: %v", err)
		}
	})

	t.Run("a throttled job is not a breaker failure", func(t *testing.T) {
		// imdb's breaker opens after 5 failures.
		h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, job SyncJob) (SyncResult, error) {
			return SyncResult{}, get(ctx, job.HTTPClient("imdb"), "/429")
		}))
		// The first job's 429 asks for 120 s: past MaxWait (1 min), so the
		// request is not retried and later ones fail at once.
		for i := range 6 {
			_, err := h.ExecuteSync(ctx, SyncJob{Source: "imdb"})
			if i > 0 && !errors.Is(err, ErrRateLimited) {
				t.Fatalf("job %d during the pause: %v", i, err)
			}
		}
		b, _ := m.Breaker("imdb")
		if b.State() != breaker.Closed || b.Counts().ConsecutiveFailures != 0 {
			t.Fatalf("throttled jobs counted: %v %+v", b.State(), b.Counts())
		}
		if s := status("imdb"); s.Failed != 6 {
			t.Fatalf("throttled jobs are still failed syncs: %+v", s)
		}
	})

	t.Run("with ThrottleIsFailure a 429's Retry-After holds the breaker open", func(t *testing.T) {
		c := m.HTTPClient("plex") // opens on the 2nd failure, 30 s by default
		h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, _ SyncJob) (SyncResult, error) {
			return SyncResult{}, get(ctx, c, "/429")
		}))
		for range 2 {
			_, _ = h.ExecuteSync(ctx, SyncJob{Source: "plex"})
		}
		clk.Advance(time.Minute)
		if _, err := h.ExecuteSync(ctx, SyncJob{Source: "plex"}); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("after 60 s of a 120 s Retry-After: %v", err)
		}
	})

	t.Run("partial items of a failed job are recorded", func(t *testing.T) {
		h := m.MonitoredSyncHandler(SyncHandlerFunc(func(context.Context, SyncJob) (SyncResult, error) {
			return SyncResult{ItemsFound: 20, ItemsAdded: 4}, errUpstream
		}))
		_, _ = h.ExecuteSync(ctx, SyncJob{Source: "custom-list"})
		if s := status("custom-list"); s.Failed != 1 || s.ItemsAdded != 4 || s.ItemsFound != 20 {
			t.Fatalf("recorded %+v", s)
		}
	})

	t.Run("a source without a breaker still runs", func(t *testing.T) {
		ran := false
		h := m.MonitoredSyncHandler(SyncHandlerFunc(func(context.Context, SyncJob) (SyncResult, error) {
			ran = true
			return SyncResult{}, nil
		}))
		if _, err := h.ExecuteSync(ctx, SyncJob{Source: ""}); err != nil || !ran {
			t.Fatalf("empty source: ran=%v err=%v", ran, err)
		}
		if s := status(UnknownLabel); s.Succeeded != 1 {
			t.Fatalf("recorded %+v", s)
		}
	})

	t.Run("a panic is a failure and goes on", func(t *testing.T) {
		h := m.MonitoredSyncHandler(SyncHandlerFunc(func(context.Context, SyncJob) (SyncResult, error) {
			panic("boom")
		}))
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Fatalf("recovered %v", r)
				}
			}()
			_, _ = h.ExecuteSync(ctx, SyncJob{Source: "custom"})
		}()
		b, _ := m.Breaker("custom")
		if s := status("custom"); s.Failed != 1 || b.Counts().ConsecutiveFailures != 1 {
			t.Fatalf("recorded %+v, breaker %+v", s, b.Counts())
		}
	})
}

// A job's own client carries the job's admission explicitly: its requests
// need no context from the job, are not counted by the breaker one by one,
// and a 429's Retry-After reaches the breaker through the job's outcome.
func TestSyncJobHTTPClient(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.CircuitBreakers = map[string]breaker.Config{"plex": {OpenTimeout: 5 * time.Second}}
	cfg.RateLimits = map[string]RateLimit{"plex": {ThrottleIsFailure: true, MaxAttempts: 1, MaxWait: 5 * time.Second}}
	m, clk := newTestMonitor(t, cfg, WithBreakerOptions(breaker.WithJitter(0)))
	srv := statusServer(t) // /429 asks to wait 30 s
	var other *http.Client
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(_ context.Context, job SyncJob) (SyncResult, error) {
		other = job.HTTPClient("tmdb")
		// context.Background: nothing ties the request to the job but the client.
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/429", nil)
		resp, err := job.HTTPClient("plex").Do(req)
		if err != nil {
			return SyncResult{}, err
		}
		resp.Body.Close()
		return SyncResult{}, errors.New(resp.Status)
	}))
	b, _ := m.Breaker("plex") // opens on the 2nd failure, for 5 s
	if _, err := h.ExecuteSync(ctx, SyncJob{Source: "plex"}); err == nil {
		t.Fatal("failing job succeeded")
	}
	if c := b.Counts(); b.State() != breaker.Closed || c.ConsecutiveFailures != 1 {
		t.Fatalf("after one failed job: %v %+v (the request was counted on its own)", b.State(), c)
	}
	clk.Advance(20 * time.Second) // the Retry-After pause ends at 30 s
	// 10 s of pause left, past MaxWait: the request fails at once, and the
	// job with it, carrying the pause to the breaker.
	if _, err := h.ExecuteSync(ctx, SyncJob{Source: "plex"}); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("job during the pause: %v", err)
	}
	if b.State() != breaker.Open {
		t.Fatalf("after two failed jobs: %v", b.State())
	}
	clk.Advance(9 * time.Second) // past the open period, inside the pause
	if _, err := h.ExecuteSync(ctx, SyncJob{Source: "plex"}); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("inside the Retry-After window: %v", err)
	}
	clk.Advance(2 * time.Second)
	if st := b.State(); st != breaker.HalfOpen {
		t.Fatalf("after the Retry-After window: %v", st)
	}

	// Other services get the Monitor's client, guarded by their own breaker.
	for range 3 { // tmdb opens on the 3rd failure
		doGet(t, other, srv.URL+"/500")
	}
	if _, err := other.Get(srv.URL + "/200"); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("job.HTTPClient(other service) bypasses its breaker: %v", err)
	}
	// A job no MonitoredSyncHandler runs gets a plain client.
	if c := (SyncJob{Source: "plex"}).HTTPClient("plex"); c == nil || c.Transport != nil {
		t.Fatalf("unmonitored job's client: %+v", c)
	}
}

// Whether a failed job was only throttled is judged from its own requests:
// a 429 that another client of the service got meanwhile (another job, a
// probe) does not hide the job's own failure from the breaker.
func TestThrottlingElsewhereDoesNotHideAJobsFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/throttle" {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte("{"))
	}))
	t.Cleanup(srv.Close)
	m, _ := newTestMonitor(t, Config{RateLimits: map[string]RateLimit{"plex": {MaxAttempts: 1}}})
	other := m.HTTPClient("plex")
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, job SyncJob) (SyncResult, error) {
		resp, err := other.Get(srv.URL + "/throttle") // not the job's request
		if err != nil {
			return SyncResult{}, err
		}
		resp.Body.Close()
		resp, err = job.HTTPClient("plex").Get(srv.URL + "/list")
		if err != nil {
			return SyncResult{}, err
		}
		resp.Body.Close()
		return SyncResult{}, errors.New("decode: unexpected end of JSON input")
	}))
	for range 2 { // plex opens on its 2nd consecutive failure
		if _, err := h.ExecuteSync(context.Background(), SyncJob{Source: "plex"}); err == nil {
			t.Fatal("the job succeeded")
		}
	}
	if b, _ := m.Breaker("plex"); b.State() != breaker.Open {
		t.Fatalf("two failed jobs left the breaker %v: another request's 429 hid their failures", b.State())
	}
}
