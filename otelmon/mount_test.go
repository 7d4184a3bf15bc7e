package otelmon

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// get fetches url with the API key and without following redirects.
func getNoRedirect(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", testKey)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

// Handler works under a prefix that http.StripPrefix removes, with or
// without the prefix's trailing slash: the page, its API, /metrics, and
// the redirect from the bare prefix to the page.
func TestHandlerUnderPrefix(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig(), WithAPIKey(testKey))
	for _, strip := range []string{"/monitoring", "/monitoring/"} {
		t.Run("StripPrefix "+strip, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("/monitoring/", http.StripPrefix(strip, m.Handler()))
			mux.Handle("/monitoring", http.StripPrefix(strings.TrimSuffix(strip, "/"), m.Handler()))
			mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "host metrics") })
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)

			code, hdr, _ := getNoRedirect(t, srv.URL+"/monitoring?x=1")
			if code != http.StatusMovedPermanently || hdr.Get("Location") != "monitoring/?x=1" {
				t.Errorf("GET /monitoring: %d Location %q, want 301 to monitoring/?x=1 (the page, relative to the prefix)", code, hdr.Get("Location"))
			}
			code, hdr, body := getNoRedirect(t, srv.URL+"/monitoring/")
			if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, "<title>otelmon status</title>") {
				t.Errorf("GET /monitoring/: %d %s", code, hdr.Get("Content-Type"))
			}
			code, _, body = getNoRedirect(t, srv.URL+"/monitoring/api/v3/monitoring/status")
			if code != 200 || !strings.Contains(body, `"healthSummary"`) {
				t.Errorf("GET /monitoring/api/v3/monitoring/status: %d %.200s", code, body)
			}
			code, _, body = getNoRedirect(t, srv.URL+"/monitoring/metrics")
			if code != 200 || !strings.Contains(body, "radarr_list_sync_") {
				t.Errorf("GET /monitoring/metrics: %d %.200s", code, body)
			}
			if code, _, body = getNoRedirect(t, srv.URL+"/metrics"); body != "host metrics" {
				t.Errorf("the host's /metrics answered %d %q", code, body)
			}
		})
	}
}

// APIHandler serves the API alone; MetricsHandler serves /metrics alone,
// and is never nil: without Prometheus it answers a JSON 404.
func TestAPIAndMetricsHandlersAlone(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig(), WithAPIKey(testKey))
	api := httptest.NewServer(m.APIHandler())
	t.Cleanup(api.Close)
	if code, _, body := getNoRedirect(t, api.URL+"/api/v3/monitoring/alerts"); code != 200 || !strings.HasPrefix(body, "[") {
		t.Errorf("APIHandler alerts: %d %.200s", code, body)
	}
	for _, p := range []string{"/", "/metrics", "/index.html"} {
		if code, hdr, _ := getNoRedirect(t, api.URL+p); code != 404 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Errorf("APIHandler GET %s: %d %s, want a JSON 404", p, code, hdr.Get("Content-Type"))
		}
	}

	metrics := httptest.NewServer(m.MetricsHandler())
	t.Cleanup(metrics.Close)
	if code, _, body := getNoRedirect(t, metrics.URL+"/metrics"); code != 200 || !strings.Contains(body, "radarr_list_sync_") {
		t.Errorf("MetricsHandler: %d %.200s", code, body)
	}

	mp, emb := hostProvider(t)
	host, err := New(DefaultConfig(), WithMeterProvider(mp), WithEmbedding(emb), WithAPIKey(testKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Shutdown(context.Background()) })
	h := host.MetricsHandler()
	if h == nil {
		t.Fatal("MetricsHandler is nil without Prometheus")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"code":"not_found"`) {
		t.Errorf("MetricsHandler without Prometheus: %d %s", rec.Code, rec.Body)
	}
}
