package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.uber.org/goleak"

	"github.com/listsync/otelmon/alerting"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testKey = "test-api-key"

// lockedBuffer is a bytes.Buffer safe for the program's goroutines and the
// test's.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs the program with args on a free port until the returned
// function is called; that function returns run's error. Evaluation and
// sync intervals are long, so that only the start-up scenario records.
func start(t *testing.T, args ...string) (addr string, stdout, stderr *lockedBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &lockedBuffer{}, &lockedBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	args = append([]string{"-listen", "127.0.0.1:0", "-api-key", testKey, "-eval-interval", "1h", "-sync-interval", "1h"}, args...)
	go func() { done <- run(ctx, args, stdout, stderr, ready) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case addr = <-ready:
		return addr, stdout, stderr, stop
	case err := <-done:
		t.Fatalf("run returned before serving: %v\nstderr:\n%s", err, stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not start")
	}
	return "", nil, nil, nil
}

func get(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestRun(t *testing.T) {
	addr, stdout, _, stop := start(t)
	base := "http://" + addr

	if code, body := get(t, base+"/healthz", nil); code != http.StatusOK || body != "ok\n" {
		t.Errorf("the host's /healthz: %d %q", code, body)
	}
	code, body := get(t, base+"/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	for _, want := range []string{
		// The host's own instruments...
		"host_imports_total 3\n",
		"host_import_queue_depth 150\n",
		"# TYPE http_server_request_duration histogram",
		// ...and otelmon's, in the same exposition.
		`radarr_list_sync_sync_operations_total{source="imdb"} 1` + "\n",
		`radarr_list_sync_items_found_total{source="plex"} 35` + "\n",
		`radarr_list_sync_cache_hits_total{type="movie_cache"} 4` + "\n",
		`radarr_list_sync_alerts_firing{level="warning"} 1` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", body)
	}

	// otelmon's page and API live under /monitoring/.
	if code, body := get(t, base+"/monitoring/", nil); code != http.StatusOK || !strings.Contains(body, "<title>otelmon status</title>") {
		t.Errorf("status page under /monitoring/: %d", code)
	}
	if code, _ := get(t, base+"/api/v3/monitoring/alerts", http.Header{"X-Api-Key": {testKey}}); code != http.StatusNotFound {
		t.Errorf("the Monitor's API answered %d at the host's root, want it under /monitoring/ only", code)
	}
	// The custom rule fires on the host's instrument, seen through the
	// Monitor's API.
	code, body = get(t, base+"/monitoring/api/v3/monitoring/alerts", http.Header{"X-Api-Key": {testKey}})
	if code != http.StatusOK {
		t.Fatalf("alerts API: %d %s", code, body)
	}
	var alerts []alerting.Alert
	if err := json.Unmarshal([]byte(body), &alerts); err != nil {
		t.Fatalf("alerts API: %v\n%s", err, body)
	}
	if len(alerts) != 1 {
		t.Fatalf("want only custom_rule active, got %s", body)
	}
	a := alerts[0]
	if a.Rule != customRuleName || a.Level != alerting.Warning || a.State != alerting.Firing ||
		a.Value != 150 || a.Labels["component"] != "custom" || a.Description == "" {
		t.Errorf("custom rule alert: %+v", a)
	}
	if want := "host_import_queue_depth is 150 (> 100) for component=custom"; a.Title != want {
		t.Errorf("title %q, want %q", a.Title, want)
	}

	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	out := stdout.String()
	for _, want := range []string{
		"alert custom_rule warning firing: host_import_queue_depth is 150 (> 100) for component=custom\n",
		"monitor shut down; the host's provider still exports host_imports_total\n",
		"host provider shut down\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

// With -duration the program stops on its own.
func TestRunDuration(t *testing.T) {
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"-listen", "127.0.0.1:0", "-api-key", testKey, "-duration", "100ms"}, &stdout, &stderr, nil)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after -duration")
	}
	if !strings.Contains(stdout.String(), "host provider shut down") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

// Monitor.Shutdown unregisters otelmon's instruments but leaves the
// provider to the host: it still records and exports, and the host's own
// Shutdown is the first.
func TestMonitorShutdownLeavesHostProvider(t *testing.T) {
	ctx := context.Background()
	c, err := parseFlags([]string{"-api-key", testKey}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHost(ctx, c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.mon.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.syncRound(ctx); err != nil {
		t.Fatal(err)
	}
	h.queue.Add(ctx, 7)
	text, err := h.prom.Text(ctx)
	if err != nil || !strings.Contains(text, "radarr_list_sync_sync_operations_total{") {
		t.Fatalf("before: %v\n%s", err, text)
	}

	if err := h.mon.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	h.imports.Add(ctx, 2)
	h.queue.Add(ctx, 1)
	text, err = h.prom.Text(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"host_imports_total 2\n", "host_import_queue_depth 8\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("after Monitor.Shutdown the exposition lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "radarr_list_sync_sync_operations_total{") {
		t.Errorf("otelmon's sync series still exported after Monitor.Shutdown:\n%s", text)
	}
	// The first Shutdown of a provider returns nil, later ones an error:
	// so the Monitor did not shut it down.
	if err := h.mp.Shutdown(ctx); err != nil {
		t.Fatalf("host's Shutdown: %v", err)
	}
	if err := h.tp.Shutdown(ctx); err != nil {
		t.Fatalf("host's tracer provider Shutdown: %v", err)
	}
	if err := h.mp.Shutdown(ctx); !errors.Is(err, sdkmetric.ErrReaderShutdown) {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-duration", "-1s"}, "-duration"},
		{[]string{"-queue-threshold", "-5"}, "-queue-threshold"},
		{[]string{"-batch-size", "0"}, "-batch-size"},
		{[]string{"-eval-interval", "1ms"}, "-eval-interval"},
		{[]string{"-sync-interval", "0s"}, "-sync-interval"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if err := run(context.Background(), []string{"-h"}, io.Discard, io.Discard, nil); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}
