package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemoRateLimitedTMDb is the story of `listsync -rate-limit tmdb`: the
// tmdb stand-in allows 4 requests a second (429 with Retry-After beyond),
// and a throttled service is not a broken one. tmdb's syncs slow down and
// still succeed, its rate-limit hits grow until high_rate_limit_hits fires,
// its breaker stays closed all along, and no sync-failure or breaker alert
// names it. The other services sync as usual.
func TestDemoRateLimitedTMDb(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for up to 90 s")
	}
	const key = "demo-test-key"
	addr := demo(t, "-api-key", key, "-rate-limit", "tmdb",
		"-sync-interval", "100ms", "-health-interval", "100ms", "-eval-interval", "100ms")
	metricsURL := "http://" + addr + "/metrics"
	alertsURL := "http://" + addr + "/api/v3/monitoring/alerts?apikey=" + key

	var (
		body                           string
		tmdbOK, hits                   float64
		firing                         bool
		deadline                       = time.Now().Add(90 * time.Second)
		breakerSamples, throttledProbe int
	)
	for {
		body = get(t, metricsURL)
		if state, ok := sample(body, "radarr_list_sync_circuit_breaker_state", `service="tmdb"`); ok {
			breakerSamples++
			if state != 0 {
				t.Fatalf("tmdb's breaker left closed (state %v) while tmdb was only throttled:\n%s", state, grep(body, "tmdb"))
			}
		}
		if up, ok := sample(body, "radarr_list_sync_service_up", `service="tmdb"`); ok && up != 1 {
			throttledProbe++
		}
		tmdbOK, _ = sample(body, "radarr_list_sync_sync_operations_success_total", `source="tmdb"`)
		hits, _ = sample(body, "radarr_list_sync_api_rate_limit_hits_total", `service="tmdb"`)
		firing = alertActive(t, get(t, alertsURL), "high_rate_limit_hits", "service", "tmdb")
		if tmdbOK >= 3 && hits > 10 && firing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s: %v tmdb syncs succeeded (want ≥ 3), %v rate-limit hits (want > 10), "+
				"high_rate_limit_hits firing: %v\n%s", tmdbOK, hits, firing, grep(body, "tmdb"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if breakerSamples == 0 {
		t.Error("tmdb's breaker state was never exported")
	}
	if throttledProbe > 0 {
		t.Errorf("tmdb reported down in %d samples: a probe that gets an answer means up", throttledProbe)
	}

	// Slower: a tmdb sync waits for its budget, a plex sync does not.
	tmdbMean := mean(t, body, "radarr_list_sync_sync_duration_seconds", `source="tmdb"`)
	plexMean := mean(t, body, "radarr_list_sync_sync_duration_seconds", `source="plex"`)
	plexOK, _ := sample(body, "radarr_list_sync_sync_operations_success_total", `source="plex"`)
	if tmdbMean < 0.2 || tmdbMean < 10*plexMean {
		t.Errorf("tmdb syncs take %.3fs on average, plex %.3fs: want tmdb ≥ 0.2 s and ≥ 10× plex", tmdbMean, plexMean)
	}
	if plexOK < 2*tmdbOK {
		t.Errorf("%v plex syncs and %v tmdb syncs succeeded: want tmdb's paced well below plex's", plexOK, tmdbOK)
	}

	// Nothing says tmdb is broken, not even in the history.
	history := get(t, alertsURL+"&all=true")
	for _, rule := range []string{"circuit_breaker_open", "consecutive_sync_failures", "service_down"} {
		for _, label := range []string{"service", "source"} {
			if alertSeen(t, history, rule, label, "tmdb") {
				t.Errorf("%s raised for tmdb, which was only throttled", rule)
			}
		}
	}
}

// sample returns the value of the first sample of name whose labels
// contain label.
func sample(exposition, name, label string) (float64, bool) {
	for line := range strings.Lines(exposition) {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok || !strings.Contains(labels, label) {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		return v, err == nil
	}
	return 0, false
}

// mean returns a histogram's sum over its count.
func mean(t *testing.T, exposition, name, label string) float64 {
	t.Helper()
	sum, ok1 := sample(exposition, name+"_sum", label)
	count, ok2 := sample(exposition, name+"_count", label)
	if !ok1 || !ok2 || count == 0 {
		t.Fatalf("no %s{%s} samples", name, label)
	}
	return sum / count
}

type apiAlert struct {
	Rule   string            `json:"rule"`
	State  string            `json:"state"`
	Labels map[string]string `json:"labels"`
}

func decodeAlerts(t *testing.T, body string) []apiAlert {
	t.Helper()
	var alerts []apiAlert
	if err := json.Unmarshal([]byte(body), &alerts); err != nil {
		t.Fatalf("alerts: %v in %q", err, body)
	}
	return alerts
}

// alertActive reports whether the alerts list has rule firing with
// label=value.
func alertActive(t *testing.T, body, rule, label, value string) bool {
	t.Helper()
	for _, a := range decodeAlerts(t, body) {
		if a.Rule == rule && a.State == "firing" && a.Labels[label] == value {
			return true
		}
	}
	return false
}

// alertSeen reports whether the alerts list has rule with label=value in
// any state.
func alertSeen(t *testing.T, body, rule, label, value string) bool {
	t.Helper()
	for _, a := range decodeAlerts(t, body) {
		if a.Rule == rule && a.Labels[label] == value {
			return true
		}
	}
	return false
}

// grep returns the lines of s that contain sub, for failure messages.
func grep(s, sub string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) && !strings.Contains(line, "_bucket{") {
			fmt.Fprint(&b, line)
		}
	}
	return b.String()
}
