package otelmon

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/syncbuf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newTestMonitor returns a Monitor on its own Prometheus exporter and a
// fake clock, shut down when the test ends.
// noSLOs returns cfg without objectives: for tests that count the alerts
// of the threshold rules, which failures would otherwise join with
// burn-rate alerts (those have tests of their own, slo_test.go).
func noSLOs(cfg Config) Config {
	cfg.DisableDefaultSLOs = true
	return cfg
}

func newTestMonitor(t testing.TB, cfg Config, opts ...Option) (*Monitor, *clock.Fake) {
	t.Helper()
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	m, err := New(cfg, append([]Option{withClock(clk)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return m, clk
}

// A New that fails after building its alert engine releases the engine's
// state file, so that the next New on the same path succeeds.
func TestFailedNewReleasesStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.json")
	t.Setenv("OTEL_METRICS_EXPORTER", "bogus")
	if _, err := New(Config{}, WithAlertStatePath(path)); err == nil {
		t.Fatal("New with an unknown exporter succeeded")
	}
	m, _ := newTestMonitor(t, Config{}, WithAlertStatePath(path))
	if m.Alerts() == nil {
		t.Fatal("no alert engine")
	}
	if _, err := New(Config{}, WithAlertStatePath(path)); !errors.Is(err, alerting.ErrStateLocked) {
		t.Fatalf("second owner: New = %v, want ErrStateLocked", err)
	}
}

// Without WithLogger the Monitor logs through slog.Default(), as Go
// libraries do; a generated API key is announced but never logged.
func TestDefaultLoggerIsSlogDefault(t *testing.T) {
	var buf syncbuf.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	t.Setenv("OTEL_METRICS_EXPORTER", "")
	m, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	if !buf.Contains("generated one for /api/v3") {
		t.Fatalf("slog.Default() got no record of the generated key:\n%s", buf.String())
	}
	if buf.Contains(m.APIKey()) {
		t.Fatal("the generated API key reached the log")
	}
}
