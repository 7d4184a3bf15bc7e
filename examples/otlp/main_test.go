package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunPushesOverOTLP runs the example against an OTLP/HTTP stand-in:
// with only the environment changed, the seed's metric names arrive there.
func TestRunPushesOverOTLP(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/metrics" {
			mu.Lock()
			bodies = append(bodies, b)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	t.Setenv("OTEL_METRICS_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "none")

	var out bytes.Buffer
	if err := run(context.Background(), []string{"-duration", "150ms", "-interval", "50ms"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "exporter: otlp") {
		t.Errorf("output does not name the exporter:\n%s", out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) == 0 {
		t.Fatal("nothing pushed (Shutdown must flush)")
	}
	last := bodies[len(bodies)-1] // protobuf keeps names as raw bytes
	for _, name := range []string{"radarr_list_sync_sync_operations_total", "radarr_list_sync_sync_duration_seconds", "radarr_list_sync_cache_hits_total"} {
		if !bytes.Contains(last, []byte(name)) {
			t.Errorf("pushed metrics lack %s", name)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	if err := run(context.Background(), []string{"-interval", "0s"}, io.Discard); err == nil {
		t.Fatal("zero interval accepted")
	}
}
