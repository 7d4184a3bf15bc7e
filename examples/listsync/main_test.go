package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/e2etest"
	"github.com/listsync/otelmon/internal/syncbuf"
)

func TestMain(m *testing.M) {
	if os.Getenv(asDemoEnv) != "" {
		runAsDemo() // a child started by a test: the demo itself
		return
	}
	goleak.VerifyTestMain(m)
}

// demo runs the demo with args on a free port and returns its address; the
// demo stops when the test ends. It keeps no alert state unless args set
// -state: a test never writes to the user's state directory.
func demo(t *testing.T, args ...string) string {
	t.Helper()
	addr, _, _ := demoOutput(t, args...)
	return addr
}

// demoOutput is demo that also returns the demo's stdout and stderr.
func demoOutput(t *testing.T, args ...string) (addr string, stdout, stderr *syncbuf.Buffer) {
	t.Helper()
	return demoExporting(t, "", args...)
}

// demoExporting is demoOutput with OTEL_METRICS_EXPORTER set to exporter
// ("" for Prometheus).
func demoExporting(t *testing.T, exporter string, args ...string) (addr string, stdout, stderr *syncbuf.Buffer) {
	t.Helper()
	t.Setenv("OTEL_METRICS_EXPORTER", exporter)
	addr, stdout, stderr, stop := launchDemo(t, append([]string{"-state", ""}, args...)...)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("demo exited with %v", err)
		}
	})
	return addr, stdout, stderr
}

// startDemo runs the demo with exactly args, but for a free port, its
// metrics served to Prometheus, and returns its address, its stdout and
// stderr, and a function that stops it and returns what run returned. The
// caller stops it.
func startDemo(t *testing.T, args ...string) (addr string, stdout, stderr *syncbuf.Buffer, stop func() error) {
	t.Helper()
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	return launchDemo(t, args...)
}

// launchDemo is startDemo with the metrics exporter the environment names.
func launchDemo(t *testing.T, args ...string) (addr string, stdout, stderr *syncbuf.Buffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	stdout, stderr = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	go func() {
		done <- run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), stdout, stderr, ready)
	}()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	select {
	case addr = <-ready:
		return addr, stdout, stderr, stop
	case err := <-done:
		cancel()
		t.Fatalf("demo failed to start: %v\n%s", err, stderr)
	case <-time.After(30 * time.Second):
		cancel()
		<-done
		t.Fatal("demo did not start")
	}
	return "", nil, nil, nil
}

// waitFor polls url until the body contains every want, or fails the test
// after a deadline. The demo works on real intervals, so the test waits
// for its effects rather than for a fixed time.
func waitFor(t *testing.T, url string, want ...string) string {
	t.Helper()
	var body string
	poll(t, 30*time.Second, url, func() error {
		body = get(t, url)
		for _, w := range want {
			if !strings.Contains(body, w) {
				return fmt.Errorf("never showed %q; last body:\n%s", w, body)
			}
		}
		return nil
	})
	return body
}

// poll calls check until it returns nil, or fails the test after the
// deadline. The demo runs on real intervals: the test waits for effects.
func poll(t *testing.T, within time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		<-tick.C
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDemoRecordsSyncs(t *testing.T) {
	addr := demo(t, "-sync-interval", "50ms", "-health-interval", "50ms", "-fail", "imdb", "-rate-limit", "tmdb")
	body := waitFor(t, "http://"+addr+"/metrics",
		`radarr_list_sync_sync_operations_success_total{source="trakt"}`,
		`radarr_list_sync_sync_operations_failed_total{source="imdb"}`,
		`radarr_list_sync_cache_hits_total{type="movie_cache"}`,
		`radarr_list_sync_cache_misses_total{type="movie_cache"}`,
		`radarr_list_sync_items_added_total{source="plex"}`,
		`radarr_list_sync_last_successful_sync_timestamp{source="trakt"}`,
	)
	// Values, not presence: each counter the scenario drives has counted.
	for series, min := range map[string]float64{
		`radarr_list_sync_sync_operations_success_total{source="trakt"}`:  1,
		`radarr_list_sync_sync_operations_failed_total{source="imdb"}`:    1,
		`radarr_list_sync_cache_hits_total{type="movie_cache"}`:           1,
		`radarr_list_sync_cache_misses_total{type="movie_cache"}`:         1,
		`radarr_list_sync_last_successful_sync_timestamp{source="trakt"}`: float64(time.Now().Add(-time.Hour).Unix()),
		`radarr_list_sync_sync_operations_success_total{source="plex"}`:   1,
		`radarr_list_sync_sync_operations_total{source="imdb"}`:           1,
		`radarr_list_sync_items_found_total{source="trakt"}`:              1,
	} {
		if v := sampleValue(t, body, series); v < min {
			t.Errorf("%s = %v, want at least %v once syncs ran", series, v, min)
		}
	}
	body = waitFor(t, "http://"+addr+"/metrics",
		`radarr_list_sync_circuit_breaker_state{service="imdb"} 1`,
		`radarr_list_sync_circuit_breaker_state{service="plex"} 0`,
		`radarr_list_sync_service_up{service="imdb"} 0`,
		`radarr_list_sync_service_up{service="plex"} 1`,
		`radarr_list_sync_api_request_duration_seconds_count{service="trakt"}`,
	)
	if !regexp.MustCompile(`radarr_list_sync_api_rate_limit_hits_total\{service="tmdb"\} [1-9]`).MatchString(body) {
		t.Error("tmdb's rate-limit hits not counted")
	}
	if strings.Contains(body, `radarr_list_sync_last_successful_sync_timestamp{source="imdb"}`) {
		t.Error("failing imdb has a last successful sync")
	}
	promtoolCheckMetrics(t, body)
}

// sampleValue returns the value of series in an exposition, failing the
// test when the series is absent.
func sampleValue(t *testing.T, exposition, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(exposition)
	if m == nil {
		t.Fatalf("%s missing from the exposition", series)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v
}

// promtoolCheckMetrics runs `promtool check metrics` on an exposition.
func promtoolCheckMetrics(t *testing.T, exposition string) {
	t.Helper()
	path := e2etest.RequireProgram(t, "promtool", "Debian package prometheus")
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-fail", "netflix"},
		{"-sync-interval", "0s"},
		{"-fail-for", "-1s"},
		{"-flaky", "netflix"},
		{"-flaky", "imdb", "-flaky-ratio", "0.6"}, // two failures in a row
		{"-flaky", "imdb", "-flaky-ratio", "0"},
		{"-flaky", "imdb", "-flaky-ratio", "NaN"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted bad input", args)
		}
	}
	c, err := parseFlags([]string{"-fail", "IMDb, tmdb", "-rate-limit", "trakt", "-webhook", "http://127.0.0.1:9/hook"}, io.Discard)
	if err != nil || strings.Join(c.fail, ",") != "imdb,tmdb" || c.rateLimit[0] != "trakt" || c.webhookURL != "http://127.0.0.1:9/hook" {
		t.Fatalf("parseFlags = %+v, %v", c, err)
	}
}

// TestDemoAlertsFireAndResolve runs the demo with imdb failing for a while
// and follows its alerts through the API: the three imdb alerts fire, then
// resolve once imdb heals and its breaker closes. The burn-rate alerts of
// imdb's objective fire too and stay: the outage spent its error budget,
// and their short windows (5 and 30 minutes) still see it.
func TestDemoAlertsFireAndResolve(t *testing.T) {
	const key = "demo-test-key"
	addr := demo(t, "-api-key", key, "-sync-interval", "50ms", "-health-interval", "50ms", "-eval-interval", "50ms",
		"-fail", "imdb", "-fail-for", "3s", "-breaker-open-timeout", "200ms")
	alerts := "http://" + addr + "/api/v3/monitoring/alerts?apikey=" + key
	waitFor(t, alerts,
		`"rule":"consecutive_sync_failures"`, `"rule":"service_down"`, `"rule":"circuit_breaker_open"`,
		`"source":"imdb"`, `"service":"imdb"`, `"state":"firing"`)
	// After the heal, only the burn-rate alerts stay active; the history
	// shows the others resolved.
	poll(t, 30*time.Second, "the threshold alerts resolved", func() error {
		var active []alerting.Alert
		if err := getAPI(alerts+"&state=firing,pending", key, &active); err != nil {
			return err
		}
		var rules []string
		for _, a := range active {
			rules = append(rules, a.Rule)
		}
		slices.Sort(rules)
		if want := []string{alerting.RuleSLOBurnRatePage, alerting.RuleSLOBurnRateTicket}; !slices.Equal(rules, want) {
			return fmt.Errorf("active %q, want %q", rules, want)
		}
		return nil
	})
	var all []alerting.Alert
	if err := getAPI(alerts+"&all=true", key, &all); err != nil {
		t.Fatal(err)
	}
	resolved := map[string]bool{}
	for _, a := range all {
		resolved[a.Rule] = a.State == alerting.Resolved
	}
	for _, rule := range []string{"consecutive_sync_failures", "service_down", "circuit_breaker_open"} {
		if !resolved[rule] {
			t.Errorf("%s not resolved in the history: %+v", rule, all)
		}
	}
}

// The demo prints the API key only when it made one up: a key given with
// -api-key or $LISTSYNC_API_KEY is never printed or logged.
func TestDemoPrintsOnlyAGeneratedKey(t *testing.T) {
	const given = "operator-chosen-key-42"
	for _, tc := range []struct {
		name string
		args []string
		env  string
	}{
		{"flag", []string{"-api-key", given}, ""},
		{"environment", nil, given},
		{"flag over environment", []string{"-api-key", given}, "another-key-from-env"},
		{"generated", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(apiKeyEnv, tc.env)
			addr, stdout, stderr := demoOutput(t, tc.args...)
			out := stdout.String()
			key := given
			if tc.name == "generated" {
				m := regexp.MustCompile(`(?m)^  API key: +([0-9a-f]{32}) \(generated`).FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("generated key not printed:\n%s", out)
				}
				key = m[1]
			} else if strings.Contains(out, "API key:") || strings.Contains(out, given) {
				t.Fatalf("given key printed:\n%s", out)
			}
			if tc.env != "" && tc.env != given && strings.Contains(out+stderr.String(), tc.env) {
				t.Fatal("environment key printed")
			}
			if strings.Contains(stderr.String(), key) {
				t.Fatalf("key logged:\n%s", stderr)
			}
			req, _ := http.NewRequest("GET", "http://"+addr+"/api/v3/monitoring/status", nil)
			req.Header.Set("X-Api-Key", key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("the key does not open the API: %s", resp.Status)
			}
		})
	}
}
