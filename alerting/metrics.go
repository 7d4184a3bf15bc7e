package alerting

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/internal/names"
	"github.com/listsync/otelmon/internal/version"
)

// ScopeName is the instrumentation scope of the engine's own instruments.
const ScopeName = "github.com/listsync/otelmon/alerting"

type instruments struct {
	sent, failed, dropped metric.Int64Counter
	reg                   metric.Registration
}

// Instrument creates the engine's own instruments on mp, named with the
// engine's prefix:
//
//   - notifications_sent_total{notifier}: notifications delivered;
//   - notifications_failed_total{notifier}: notifications given up after
//     their attempts (or at once for permanent errors and panics);
//   - notifications_dropped_total{notifier}: notifications dropped because
//     the notifier's queue was full or the engine was shutting down;
//   - alerts_firing{level}: firing alerts per level (observable gauge).
//
// Call it once, after building mp with the engine's Reader (so rules can
// read these instruments too); a second call returns
// ErrAlreadyInstrumented. Until it is called the engine records no metrics
// of its own. Shutdown unregisters the gauge's callback.
func (e *Engine) Instrument(mp metric.MeterProvider) error {
	if mp == nil {
		return fmt.Errorf("alerting: Instrument: nil MeterProvider")
	}
	e.ledger.mu.Lock()
	defer e.ledger.mu.Unlock()
	if e.inst.Load() != nil {
		return ErrAlreadyInstrumented
	}
	m := mp.Meter(ScopeName, metric.WithInstrumentationVersion(version.Release))
	var inst instruments
	var err error
	if inst.sent, err = m.Int64Counter(e.prefix.Name(names.NotificationsSentTotal),
		metric.WithDescription("Alert notifications delivered, by notifier.")); err != nil {
		return fmt.Errorf("alerting: Instrument: %w", err)
	}
	if inst.failed, err = m.Int64Counter(e.prefix.Name(names.NotificationsFailedTotal),
		metric.WithDescription("Alert notifications that failed after their retries, by notifier.")); err != nil {
		return fmt.Errorf("alerting: Instrument: %w", err)
	}
	if inst.dropped, err = m.Int64Counter(e.prefix.Name(names.NotificationsDroppedTotal),
		metric.WithDescription("Alert notifications dropped because the notifier's queue was full, by notifier.")); err != nil {
		return fmt.Errorf("alerting: Instrument: %w", err)
	}
	firing, err := m.Int64ObservableGauge(e.prefix.Name(names.AlertsFiring),
		metric.WithDescription("Alerts currently firing, by level."))
	if err != nil {
		return fmt.Errorf("alerting: Instrument: %w", err)
	}
	var opts [Critical + 1]metric.ObserveOption
	for l := Info; l <= Critical; l++ {
		opts[l] = metric.WithAttributeSet(attribute.NewSet(attribute.String(names.AttrLevel, l.String())))
	}
	alerts := e.ledger.alerts
	inst.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for l := Info; l <= Critical; l++ {
			o.ObserveInt64(firing, alerts.firing[l].Load(), opts[l])
		}
		return nil
	}, firing)
	if err != nil {
		return fmt.Errorf("alerting: Instrument: %w", err)
	}
	e.inst.Store(&inst)
	return nil
}
