package prometheus_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/e2etest"
)

// TestDashboardErrorBudgetPanel keeps the dashboard's error budget panel
// on the engine's default sync success objective: its counters, its target
// and its period. The end-to-end tests of examples/listsync and
// examples/fleet check that it returns data from a real Prometheus.
func TestDashboardErrorBudgetPanel(t *testing.T) {
	const title = "Error budget remaining (sync success)"
	o := alerting.SyncSuccessObjective()
	var expr string
	for _, q := range e2etest.ReadDashboard(t, "../grafana/dashboard.json").Queries {
		if q.Name == title {
			expr = q.Expr
		}
	}
	if expr == "" {
		t.Fatalf("no panel %q", title)
	}
	days := int(o.Period.Hours() / 24)
	for _, want := range []string{
		fmt.Sprintf("increase(radarr_list_sync_%s[%dd])", o.Errors.Metric, days),
		fmt.Sprintf("increase(radarr_list_sync_%s[%dd])", o.Total.Metric, days),
		fmt.Sprintf("(1 - %g)", o.Target),
	} {
		if !strings.Contains(expr, want) {
			t.Errorf("panel %q: %s lacks %s", title, expr, want)
		}
	}
}
