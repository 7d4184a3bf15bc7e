package otelmon

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newTestMonitor returns a Monitor on its own Prometheus exporter and a
// fake clock, shut down when the test ends.
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
