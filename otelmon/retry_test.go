package otelmon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/clock"
)

// scriptServer answers the n-th request with the n-th status of script
// (the last one once it runs out), and records the bodies it got.
type scriptServer struct {
	*httptest.Server
	mu     sync.Mutex
	script []int
	header http.Header // sent with every non-2xx answer
	n      int
	bodies []string
}

func newScriptServer(t *testing.T, h http.Header, script ...int) *scriptServer {
	t.Helper()
	s := &scriptServer{script: script, header: h}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		code := s.script[min(s.n, len(s.script)-1)]
		s.n++
		s.bodies = append(s.bodies, string(b))
		s.mu.Unlock()
		if code >= 300 {
			for k, v := range s.header {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, strings.Repeat("x", 100)) // a body to drain
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scriptServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// drive advances clk by a second whenever a timer is armed, until done is
// closed: the retry loop's backoffs and the pacer's pauses run on it.
func drive(clk *clock.Fake, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		default:
		}
		if clk.Timers() > 0 {
			clk.Advance(time.Second)
		} else {
			time.Sleep(100 * time.Microsecond) // polling only; nothing depends on its length
		}
	}
}

// do sends req through c while driving clk, and returns the status (0 on
// error) and error.
func do(clk *clock.Fake, c *http.Client, req *http.Request) (int, error) {
	done := make(chan struct{})
	go drive(clk, done)
	defer close(done)
	return statusOf(c.Do(req))
}

func TestRetries(t *testing.T) {
	ra := http.Header{"Retry-After": {"1"}}
	for _, tc := range []struct {
		name     string
		service  string
		method   string
		body     string
		key      string // Idempotency-Key
		header   http.Header
		script   []int
		want     int // final status
		requests int // reaching the server
	}{
		{"GET after 503", "imdb", http.MethodGet, "", "", nil, []int{503, 200}, 200, 2},
		{"GET after 429 with Retry-After", "imdb", http.MethodGet, "", "", ra, []int{429, 429, 200}, 200, 3},
		{"GET gives up after 3 attempts", "imdb", http.MethodGet, "", "", nil, []int{502, 504, 503, 200}, 503, 3},
		{"GET not after 500", "imdb", http.MethodGet, "", "", nil, []int{500, 200}, 500, 1},
		{"GET not after 404", "imdb", http.MethodGet, "", "", nil, []int{404, 200}, 404, 1},
		{"POST not retried", "imdb", http.MethodPost, "{}", "", nil, []int{503, 200}, 503, 1},
		{"POST with Idempotency-Key retried", "imdb", http.MethodPost, `{"a":1}`, "k1", nil, []int{503, 200}, 200, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := newTestMonitor(t, DefaultConfig())
			srv := newScriptServer(t, tc.header, tc.script...)
			req, _ := http.NewRequest(tc.method, srv.URL, nil)
			if tc.body != "" {
				req, _ = http.NewRequest(tc.method, srv.URL, bytes.NewReader([]byte(tc.body)))
			}
			if tc.key != "" {
				req.Header.Set("Idempotency-Key", tc.key)
			}
			code, err := do(clk, m.HTTPClient(tc.service), req)
			if err != nil || code != tc.want {
				t.Fatalf("got %d, %v; want %d", code, err, tc.want)
			}
			if n := srv.requests(); n != tc.requests {
				t.Fatalf("%d requests reached the server, want %d", n, tc.requests)
			}
			for i, b := range srv.bodies {
				if b != tc.body {
					t.Fatalf("attempt %d sent body %q, want %q", i+1, b, tc.body)
				}
			}
			text, _ := m.PrometheusMetrics(context.Background())
			want := `radarr_list_sync_api_retries_total{service="` + tc.service + `"} ` + string(rune('0'+tc.requests-1))
			if !strings.Contains(text, want) {
				t.Fatalf("exposition lacks %s", want)
			}
		})
	}
}

func TestOpenBreakerStopsRetries(t *testing.T) {
	m, clk := newTestMonitor(t, DefaultConfig())
	srv := newScriptServer(t, nil, 502)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	_, err := do(clk, m.HTTPClient("plex"), req) // plex opens on its 2nd failure
	if !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("third attempt: %v", err)
	}
	if n := srv.requests(); n != 2 {
		t.Fatalf("%d requests reached the server, want 2", n)
	}
}

func TestRetriesStopAtTheDeadline(t *testing.T) {
	m, clk := newTestMonitor(t, DefaultConfig())
	srv := newScriptServer(t, http.Header{"Retry-After": {"30"}}, 429, 200)
	ctx := deadlineCtx{context.Background(), clk.Now().Add(5 * time.Second)}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := m.HTTPClient("imdb").Do(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("got %v, %v; want the 429 itself", resp, err)
	}
	resp.Body.Close()
	if clk.Timers() != 0 || srv.requests() != 1 {
		t.Fatal("waited or retried past the deadline")
	}
	// The next request fails at once, saying how long the service asked for.
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err = m.HTTPClient("imdb").Do(req)
	var rle *RateLimitError
	if !errors.As(err, &rle) || rle.Wait != 30*time.Second || srv.requests() != 1 {
		t.Fatalf("request during the pause: %v", err)
	}
}

// deadlineCtx has a deadline on the fake clock's time line, which a real
// context cannot have without being expired already.
type deadlineCtx struct {
	context.Context
	dl time.Time
}

func (c deadlineCtx) Deadline() (time.Time, bool) { return c.dl, true }

// Retry-After: 2 pauses every goroutine's requests: none reaches the
// service before the pause ends.
func TestRetryAfterPausesEveryGoroutine(t *testing.T) {
	m, clk := newTestMonitor(t, DefaultConfig())
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	t.Cleanup(srv.Close)
	c := m.HTTPClient("acme")
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	ctx := deadlineCtx{context.Background(), clk.Now()} // no retry: the answer itself
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("first request: %v %v", resp, err)
	}
	resp.Body.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			resp, err := c.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
			errs <- err
		})
	}
	clk.BlockUntilTimers(8)
	clk.Advance(1999 * time.Millisecond)
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d requests reached the service during the pause", n-1)
	}
	clk.Advance(time.Millisecond)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := hits.Load(); n != 9 {
		t.Fatalf("%d requests reached the service, want 9", n)
	}
	st := m.Status()
	var rl *RateLimitStatus
	for i := range st.RateLimits {
		if st.RateLimits[i].Service == "acme" {
			rl = &st.RateLimits[i]
		}
	}
	if rl == nil || rl.Paused || rl.WaitSeconds != 16 {
		t.Fatalf("status %+v", rl)
	}
}

func TestRateLimitMetricsAndStatus(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "7")
		w.Header().Set("X-RateLimit-Reset", "3600")
	}))
	t.Cleanup(srv.Close)
	doGet(t, m.HTTPClient("tmdb"), srv.URL)
	text, _ := m.PrometheusMetrics(context.Background())
	for _, want := range []string{
		`radarr_list_sync_api_rate_limit_remaining{service="tmdb"} 7`,
		`radarr_list_sync_api_retries_total{service="tmdb"} 0`,
		`radarr_list_sync_api_rate_limit_wait_seconds_total{service="tmdb"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	if strings.Contains(text, `api_rate_limit_remaining{service="imdb"}`) {
		t.Error("remaining exported for a service that announced none")
	}
	st := m.Status()
	if len(st.RateLimits) != 1 {
		t.Fatalf("rateLimits %+v", st.RateLimits)
	}
	rl := st.RateLimits[0]
	// 7 left for an hour, none in flight: one per 514 s, slower than one
	// per MaxPause (5 minutes), which is the pace then.
	if rl.Service != "tmdb" || rl.RequestsPerSecond == nil || *rl.RequestsPerSecond != 1.0/300 ||
		rl.Remaining == nil || *rl.Remaining != 7 || rl.Paused || rl.MaxPauseSeconds != 300 {
		t.Fatalf("status %+v", rl)
	}
}

// Pacing belongs to the service, not to its metric label: services past
// the cardinality limit share the label __overflow__, never a pacer, so one
// service's Retry-After does not pause another.
func TestServicesPastTheLabelLimitKeepTheirOwnPacer(t *testing.T) {
	a := newScriptServer(t, http.Header{"Retry-After": {"30"}}, http.StatusTooManyRequests)
	b := newScriptServer(t, nil, http.StatusOK)
	m, _ := newTestMonitor(t, Config{
		Metrics:    MetricsConfig{CardinalityLimit: 1},
		RateLimits: map[string]RateLimit{"svc-a": {MaxAttempts: 1}, "svc-b": {MaxWait: time.Second}},
	})
	_ = m.HTTPClient("first") // takes the label table's one slot
	resp, err := m.HTTPClient("svc-a").Get(a.URL)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("svc-a: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = m.HTTPClient("svc-b").Get(b.URL)
	if err != nil {
		t.Fatalf("svc-b waited for svc-a's Retry-After: %v", err)
	}
	resp.Body.Close()
	var paused []string
	for _, st := range m.Status().RateLimits {
		if st.Paused {
			paused = append(paused, st.Service)
		}
	}
	if len(paused) != 1 || paused[0] != "svc-a" {
		t.Fatalf("paused services = %v, want [svc-a] by name", paused)
	}
}
