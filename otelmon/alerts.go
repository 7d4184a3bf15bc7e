package otelmon

import (
	"errors"
	"fmt"

	"github.com/listsync/otelmon/alerting"
)

// NewAlertEngine returns an alert engine configured from cfg (evaluation
// interval, retention, metric names), for a host that embeds the Monitor in
// its own MeterProvider: register eng.Reader() on the provider and pass the
// engine with WithAlertEngine. opts are passed on (notifiers, logger, ...).
func NewAlertEngine(cfg Config, opts ...alerting.Option) (*alerting.Engine, error) {
	return newAlertEngine(cfg, "", alerting.DeliveryConfig{}, opts...)
}

func newAlertEngine(cfg Config, statePath string, delivery alerting.DeliveryConfig, opts ...alerting.Option) (*alerting.Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	opts = append([]alerting.Option{alerting.WithNamespace(cfg.Metrics.Namespace, cfg.Metrics.Subsystem)}, opts...)
	return alerting.New(alerting.Config{
		EvaluationInterval: cfg.AlertEvaluationInterval,
		Retention:          cfg.AlertRetention,
		StatePath:          statePath,
		Delivery:           delivery,
		Silences:           cfg.Silences,
		MaintenanceWindows: cfg.MaintenanceWindows,
	}, opts...)
}

// setupAlerts instruments the engine on the Monitor's provider and adds the
// default rules (when enabled) and the notifiers.
func (m *Monitor) setupAlerts(o options) error {
	if err := m.alerts.Instrument(m.pipe.mp); err != nil && !errors.Is(err, alerting.ErrAlreadyInstrumented) {
		return fmt.Errorf("otelmon: alert instruments: %w", err)
	}
	if !m.cfg.DisableDefaultAlerts {
		for _, r := range alerting.DefaultRules() {
			if err := m.alerts.AddRule(r); err != nil && !errors.Is(err, alerting.ErrDuplicateRule) {
				return fmt.Errorf("otelmon: default alert rule: %w", err)
			}
		}
	}
	if objs := m.cfg.objectives(); len(objs) > 0 {
		for _, r := range alerting.SLORules(objs...) {
			if err := m.alerts.AddRule(r); err != nil && !errors.Is(err, alerting.ErrDuplicateRule) {
				return fmt.Errorf("otelmon: objective alert rule: %w", err)
			}
		}
	}
	for _, n := range o.notifiers {
		if err := m.alerts.AddNotifier(n); err != nil {
			return fmt.Errorf("otelmon: notifier: %w", err)
		}
	}
	return nil
}

// Alerts returns the alert engine; it is never nil. Use it to add rules
// (AddRule), notifiers, or to query and acknowledge alerts.
func (m *Monitor) Alerts() *alerting.Engine { return m.alerts }

// activeAlertCounts returns how many alerts of eng are active at the
// Critical and Warning levels, for the status.
func activeAlertCounts(eng *alerting.Engine) (critical, warning int) {
	c := eng.CountsByLevel()
	return c[alerting.Critical], c[alerting.Warning]
}
