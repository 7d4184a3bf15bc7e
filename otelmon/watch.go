package otelmon

import (
	"log/slog"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/otelmon/internal/history"
)

// watch follows the breakers' and health checks' transitions for the
// Monitor: it logs them (the checker logs its own), tells the history,
// whose strips keep the worst state of each bucket, and asks the alert
// engine for an evaluation when a service breaks or goes down, so that
// the alert need not wait for the next tick.
type watch struct {
	logger *slog.Logger
	clock  clock.Clock
	labels interface{ Label(service string) string } // the service's metric label
	hist   *history.History
	alerts *alerting.Engine
}

// breakerChanged follows a breaker's transition.
func (w *watch) breakerChanged(ev breaker.StateChange) {
	w.logger.Info("otelmon: circuit breaker changed state", "service", ev.Name, "from", ev.From.String(), "to", ev.To.String(),
		"consecutiveFailures", ev.Counts.ConsecutiveFailures)
	w.hist.NoteBreaker(w.labels.Label(ev.Name), ev.To, w.clock.Now())
	if ev.To == breaker.Open {
		w.alerts.RequestEvaluation()
	}
}

// healthChanged follows a health check's transition. The history sees
// what service_up exports: up for any status but Down.
func (w *watch) healthChanged(tr healthcheck.Transition) {
	w.hist.NoteHealth(w.labels.Label(tr.Target), tr.To != healthcheck.Down, w.clock.Now())
	if tr.To == healthcheck.Down {
		w.alerts.RequestEvaluation()
	}
}
