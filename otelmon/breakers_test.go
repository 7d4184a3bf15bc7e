package otelmon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/syncbuf"
)

var errUpstream = errors.New("upstream failed")

func TestExecuteWithCircuitBreakerOpensAfterThreshold(t *testing.T) {
	m, clk := newTestMonitor(t, DefaultConfig())
	ctx := context.Background()
	fail := func(context.Context) error { return errUpstream }
	// plex trips on its 2nd consecutive failure (seed default).
	for i := 0; i < 2; i++ {
		if err := m.ExecuteWithCircuitBreaker(ctx, "plex", fail); !errors.Is(err, errUpstream) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	ran := false
	err := m.ExecuteWithCircuitBreaker(ctx, "plex", func(context.Context) error { ran = true; return nil })
	if !errors.Is(err, breaker.ErrOpen) || ran {
		t.Fatalf("open breaker: err=%v ran=%v", err, ran)
	}
	got, err := Execute(ctx, m, "tmdb", func(context.Context) (string, error) { return "ok", nil })
	if err != nil || got != "ok" {
		t.Fatalf("Execute = %q, %v", got, err)
	}
	if _, err := Execute(ctx, m, "", func(context.Context) (int, error) { return 1, nil }); err == nil {
		t.Fatal("empty service accepted")
	}

	err = testutil.GatherAndCompare(m.pipe.prometheus.Gatherer(), strings.NewReader(`
# HELP radarr_list_sync_circuit_breaker_failures Consecutive failures counted toward the circuit breaker's threshold, per service; reset when it opens.
# TYPE radarr_list_sync_circuit_breaker_failures gauge
radarr_list_sync_circuit_breaker_failures{service="plex"} 0
radarr_list_sync_circuit_breaker_failures{service="tmdb"} 0
# HELP radarr_list_sync_circuit_breaker_rejected_total Calls rejected by the circuit breaker without running, per service.
# TYPE radarr_list_sync_circuit_breaker_rejected_total counter
radarr_list_sync_circuit_breaker_rejected_total{service="plex"} 1
radarr_list_sync_circuit_breaker_rejected_total{service="tmdb"} 0
# HELP radarr_list_sync_circuit_breaker_state Circuit breaker state per service: 0 closed, 1 open, 2 half-open.
# TYPE radarr_list_sync_circuit_breaker_state gauge
radarr_list_sync_circuit_breaker_state{service="plex"} 1
radarr_list_sync_circuit_breaker_state{service="tmdb"} 0
`), "radarr_list_sync_circuit_breaker_failures", "radarr_list_sync_circuit_breaker_state", "radarr_list_sync_circuit_breaker_rejected_total")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := m.PrometheusMetrics(ctx)
	if !strings.Contains(text, `radarr_list_sync_circuit_breaker_transitions_total{from="closed",service="plex",to="open"} 1`) {
		t.Fatalf("transition not counted:\n%s", text)
	}

	// After plex's 30 s open timeout (plus jitter) the breaker half-opens and
	// a success closes it.
	clk.Advance(2 * time.Minute)
	if err := m.ExecuteWithCircuitBreaker(ctx, "plex", func(context.Context) error { return nil }); err != nil {
		t.Fatalf("trial call: %v", err)
	}
	b, _ := m.Breaker("plex")
	if b.State() != breaker.Closed {
		t.Fatalf("state after successful trial = %v", b.State())
	}
}

func TestBreakerMetricsPresentFromCreation(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig())
	if _, err := m.Breaker("imdb"); err != nil {
		t.Fatal(err)
	}
	text, _ := m.PrometheusMetrics(context.Background())
	for _, want := range []string{
		`radarr_list_sync_circuit_breaker_state{service="imdb"} 0`,
		`radarr_list_sync_circuit_breaker_failures{service="imdb"} 0`,
		`radarr_list_sync_circuit_breaker_transitions_total{from="closed",service="imdb",to="open"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s", want)
		}
	}
}

func TestConfigCircuitBreakersOverride(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CircuitBreakers = map[string]breaker.Config{"imdb": {FailureThreshold: 1}}
	m, _ := newTestMonitor(t, cfg)
	b, err := m.Breaker("imdb")
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Config(); got.FailureThreshold != 1 || got.OpenTimeout != 60*time.Second || got.RequestTimeout != 30*time.Second {
		t.Fatalf("imdb config = %+v", got)
	}
	cfg.CircuitBreakers = map[string]breaker.Config{"imdb": {FailureThreshold: -1}}
	var ce *ConfigError
	if _, err := New(cfg); !errors.As(err, &ce) {
		t.Fatalf("negative threshold: %v", err)
	}
}

func TestHTTPClientThroughBreaker(t *testing.T) {
	srv := statusServer(t)
	cfg := DefaultConfig()
	cfg.RateLimits = map[string]RateLimit{"tmdb": {MaxAttempts: 1, MaxWait: time.Second}}
	m, clk := newTestMonitor(t, cfg)
	c := m.HTTPClient("tmdb") // 3 failures open it
	for i := 0; i < 5; i++ {
		if code := doGet(t, c, srv.URL+"/404"); code != http.StatusOK {
			// statusServer answers 200 for unknown paths
			t.Fatalf("status %d", code)
		}
	}
	doGet(t, c, srv.URL+"/500")
	doGet(t, c, srv.URL+"/500")
	if code := doGet(t, c, srv.URL+"/429"); code != http.StatusTooManyRequests {
		t.Fatalf("429 not passed through: %d", code)
	}
	// A 429 is not a failure: two 5xx so far, the breaker stays closed.
	b, _ := m.Breaker("tmdb")
	if st, n := b.State(), b.Counts().ConsecutiveFailures; st != breaker.Closed || n != 2 {
		t.Fatalf("after a 429: %v with %d failures", st, n)
	}
	// Its Retry-After (30 s) pauses the service; a wait past MaxWait fails at once.
	_, err := c.Get(srv.URL + "/200")
	var rle *RateLimitError
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &rle) || rle.Wait != 30*time.Second || !rle.Paused || rle.Service != "tmdb" {
		t.Fatalf("request during the pause: %v", err)
	}
	clk.Advance(30 * time.Second)
	doGet(t, c, srv.URL+"/500")
	clk.Advance(time.Second) // the 429 lowered tmdb's pace to 4/s
	_, err = c.Get(srv.URL + "/200")
	if !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("open breaker: %v", err)
	}
	// Rejected requests never reach the API, so they are not counted there.
	text, _ := m.PrometheusMetrics(context.Background())
	if !strings.Contains(text, `radarr_list_sync_api_requests_total{service="tmdb"} 9`) {
		t.Fatalf("request count:\n%s", text)
	}
	// Health checks bypass the breaker.
	hc := &http.Client{Transport: m.Transport("tmdb", nil, WithoutCircuitBreaker())}
	if code := doGet(t, hc, srv.URL+"/200"); code != http.StatusOK {
		t.Fatalf("unguarded transport: %d", code)
	}
}

func TestClassifyResponse(t *testing.T) {
	now := time.Unix(0, 0)
	mk := func(code int, retry string) *http.Response {
		h := http.Header{}
		if retry != "" {
			h.Set("Retry-After", retry)
		}
		return &http.Response{StatusCode: code, Header: h}
	}
	for _, tc := range []struct {
		code  int
		retry string
		fail  bool
		wait  time.Duration
	}{
		{200, "", false, 0}, {302, "", false, 0}, {404, "", false, 0}, {400, "", false, 0},
		{500, "", true, 0}, {503, "", true, 0}, {429, "", false, 0}, {429, "45", false, 0},
	} {
		err := ClassifyResponse(mk(tc.code, tc.retry), nil, now)
		if (err != nil) != tc.fail {
			t.Errorf("%d: err=%v", tc.code, err)
		}
		var se *StatusError
		if tc.fail && (!errors.As(err, &se) || se.RetryAfter() != tc.wait) {
			t.Errorf("%d: %v", tc.code, err)
		}
	}
	if err := ClassifyResponse(nil, errUpstream, now); !errors.Is(err, errUpstream) {
		t.Errorf("transport error: %v", err)
	}
}

// Past Config.MaxCircuitBreakers, clients and monitored sync jobs still
// work, unguarded: one warning per service however many clients or jobs
// ask, and Status names the services.
func TestMaxCircuitBreakers(t *testing.T) {
	var logs syncbuf.Buffer
	srv := statusServer(t)
	cfg := DefaultConfig()
	cfg.MaxCircuitBreakers = 2
	m, _ := newTestMonitor(t, cfg, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if got := m.Config().MaxCircuitBreakers; got != 2 {
		t.Fatalf("Config().MaxCircuitBreakers = %d", got)
	}
	for _, s := range []string{"imdb", "tmdb"} {
		if _, err := m.Breaker(s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Breaker("trakt"); !errors.Is(err, breaker.ErrRegistryFull) {
		t.Fatalf("third breaker: %v, want ErrRegistryFull", err)
	}
	// plex would open after 2 failures; unguarded, every request goes out.
	for range 3 {
		if code := doGet(t, m.HTTPClient("plex"), srv.URL+"/500"); code != http.StatusInternalServerError {
			t.Fatalf("unguarded request: %d", code)
		}
	}
	doGet(t, m.HTTPClient("trakt"), srv.URL+"/200")
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(context.Context, SyncJob) (SyncResult, error) {
		return SyncResult{}, errUpstream
	}))
	for range 3 {
		if _, err := h.ExecuteSync(context.Background(), SyncJob{Source: "letterboxd"}); !errors.Is(err, errUpstream) {
			t.Fatalf("unguarded job: %v", err)
		}
	}
	doGet(t, m.HTTPClient("imdb"), srv.URL+"/200") // guarded: no warning

	for _, s := range []string{"plex", "trakt", "letterboxd"} {
		if n := strings.Count(logs.String(), "service="+s+" "); n != 1 {
			t.Errorf("%d warnings for %s, want 1:\n%s", n, s, logs.String())
		}
	}
	if strings.Contains(logs.String(), "service=imdb") {
		t.Errorf("warning for a guarded service:\n%s", logs.String())
	}
	st := m.Status()
	if !slices.Equal(st.UnguardedServices, []string{"letterboxd", "plex", "trakt"}) {
		t.Errorf("UnguardedServices = %q", st.UnguardedServices)
	}
	if len(st.CircuitBreakers) != 2 {
		t.Errorf("CircuitBreakers = %+v", st.CircuitBreakers)
	}
	body, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"unguardedServices":["letterboxd","plex","trakt"]`) {
		t.Errorf("status JSON: %s", body)
	}
}

// The list of unguarded services is bounded like a label: past the
// cardinality limit, new names share OverflowLabel (and its one warning).
func TestUnguardedServicesBounded(t *testing.T) {
	var logs syncbuf.Buffer
	cfg := DefaultConfig()
	cfg.MaxCircuitBreakers = 1
	cfg.Metrics.CardinalityLimit = 3
	m, _ := newTestMonitor(t, cfg, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	for i := range 10 {
		m.HTTPClient(fmt.Sprintf("svc%d", i))
	}
	want := []string{OverflowLabel, "svc1", "svc2", "svc3"} // svc0 has the breaker
	if got := m.Status().UnguardedServices; !slices.Equal(got, want) {
		t.Errorf("UnguardedServices = %q, want %q", got, want)
	}
	if n := strings.Count(logs.String(), "run unguarded"); n != 4 {
		t.Errorf("%d warnings, want 4:\n%s", n, logs.String())
	}
	// Without clients beyond the limit, the list is empty, not null.
	m2, _ := newTestMonitor(t, DefaultConfig())
	if body, _ := json.Marshal(m2.Status()); !strings.Contains(string(body), `"unguardedServices":[]`) {
		t.Errorf("status JSON: %s", body)
	}
}
