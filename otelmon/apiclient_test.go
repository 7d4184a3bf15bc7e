package otelmon

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// statusServer answers each request with the status its path names
// (/200, /429, /500).
func statusServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/429":
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/500":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func doGet(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestHTTPClientMetrics(t *testing.T) {
	srv := statusServer(t)
	cfg := DefaultConfig()
	// One attempt: the 429 is answered, not retried after its 30 s pause.
	cfg.RateLimits = map[string]RateLimit{"tmdb": {MaxAttempts: 1}}
	m, _ := newTestMonitor(t, cfg)
	c := m.HTTPClient("tmdb")
	for _, p := range []string{"/200", "/200", "/500", "/429"} {
		doGet(t, c, srv.URL+p)
	}
	doGet(t, m.HTTPClient("imdb"), srv.URL+"/200")

	err := testutil.GatherAndCompare(m.pipe.prometheus.Gatherer(), strings.NewReader(`
# HELP radarr_list_sync_api_rate_limit_hits_total Requests answered 429 Too Many Requests, per service.
# TYPE radarr_list_sync_api_rate_limit_hits_total counter
radarr_list_sync_api_rate_limit_hits_total{service="imdb"} 0
radarr_list_sync_api_rate_limit_hits_total{service="tmdb"} 1
# HELP radarr_list_sync_api_requests_total Requests sent to external APIs, per service.
# TYPE radarr_list_sync_api_requests_total counter
radarr_list_sync_api_requests_total{service="imdb"} 1
radarr_list_sync_api_requests_total{service="tmdb"} 4
`), "radarr_list_sync_api_requests_total", "radarr_list_sync_api_rate_limit_hits_total")
	if err != nil {
		t.Fatal(err)
	}
	text, err := m.PrometheusMetrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`radarr_list_sync_api_request_duration_seconds_count{service="tmdb"} 4`,
		`radarr_list_sync_api_request_duration_seconds_count{service="imdb"} 1`,
		`radarr_list_sync_api_request_duration_seconds_bucket{service="tmdb",le="0.005"}`,
		`radarr_list_sync_api_request_duration_seconds_bucket{service="tmdb",le="30"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	// Only the service label survives the View; otelhttp's own series are gone.
	for _, line := range regexp.MustCompile(`(?m)^radarr_list_sync_api_request_duration_seconds\S*\{[^}]*\}`).FindAllString(text, -1) {
		if strings.Contains(line, "http_") || strings.Contains(line, "server_") {
			t.Errorf("unwanted attribute in %s", line)
		}
	}
	if strings.Contains(text, "http_client_request") {
		t.Errorf("otelhttp instruments leaked under their own names:\n%s", text)
	}
}

func TestHTTPClientHistogramOff(t *testing.T) {
	srv := statusServer(t)
	cfg := DefaultConfig()
	cfg.Metrics.DisableTimingHistograms = true
	m, _ := newTestMonitor(t, cfg)
	doGet(t, m.HTTPClient("tmdb"), srv.URL+"/200")
	text, _ := m.PrometheusMetrics(context.Background())
	if strings.Contains(text, "api_request_duration") || strings.Contains(text, "http_client") {
		t.Fatalf("histogram exported although timing histograms are off:\n%s", text)
	}
	if !strings.Contains(text, `radarr_list_sync_api_requests_total{service="tmdb"} 1`) {
		t.Fatal("request not counted")
	}
}
