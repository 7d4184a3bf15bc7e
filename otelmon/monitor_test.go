package otelmon

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

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
