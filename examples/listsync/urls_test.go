package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Every URL the demo prints at start answers, with Prometheus serving
// /metrics and with metrics pushed elsewhere ("none": nothing leaves the
// machine), when /metrics is not served and the demo says so.
func TestDemoPrintsURLsThatAnswer(t *testing.T) {
	const key = "urls-test-key"
	for _, tc := range []struct {
		exporter    string
		wantMetrics bool
	}{
		{"", true},
		{"none", false},
	} {
		t.Run("OTEL_METRICS_EXPORTER="+tc.exporter, func(t *testing.T) {
			_, stdout, _ := demoExporting(t, tc.exporter, "-api-key", key, "-sync-interval", "1h")
			out := stdout.String()
			urls := regexp.MustCompile(`http://[^\s)]+`).FindAllString(out, -1)
			if len(urls) == 0 {
				t.Fatalf("the demo printed no URL:\n%s", out)
			}
			sawMetrics := false
			for _, u := range urls {
				sawMetrics = sawMetrics || strings.HasSuffix(u, "/metrics")
				req, err := http.NewRequest(http.MethodGet, u, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("X-Api-Key", key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("GET %s: %v", u, err)
					continue
				}
				resp.Body.Close()
				// The upstream stand-ins answer their roots as the real
				// services do (401 without a key, say); nothing printed
				// may be missing.
				if resp.StatusCode == http.StatusNotFound || resp.StatusCode >= 500 {
					t.Errorf("GET %s (printed by the demo): %s", u, resp.Status)
				}
			}
			if sawMetrics != tc.wantMetrics {
				t.Errorf("printed a /metrics URL: %v, want %v:\n%s", sawMetrics, tc.wantMetrics, out)
			}
		})
	}
}
