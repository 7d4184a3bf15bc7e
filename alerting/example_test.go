package alerting_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/alerting"
)

// A Monitor's wiring: the engine's reader goes into the MeterProvider, the
// provider comes back for the engine's own instruments, and the rules read
// what the provider's instruments record.
func Example() {
	ctx := context.Background()
	eng, err := alerting.New(alerting.Config{EvaluationInterval: time.Minute})
	if err != nil {
		panic(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(eng.Reader()))
	defer func() { _ = mp.Shutdown(ctx) }()
	if err := eng.Instrument(mp); err != nil {
		panic(err)
	}
	for _, r := range alerting.DefaultRules() {
		if err := eng.AddRule(r); err != nil {
			panic(err)
		}
	}

	// What the health checker and the breakers record.
	meter := mp.Meter("example")
	up, _ := meter.Int64Gauge("radarr_list_sync_service_up")
	state, _ := meter.Int64Gauge("radarr_list_sync_circuit_breaker_state")
	up.Record(ctx, 0, metric.WithAttributes(attribute.String("service", "tmdb")))
	up.Record(ctx, 1, metric.WithAttributes(attribute.String("service", "imdb")))
	state.Record(ctx, 1, metric.WithAttributes(attribute.String("service", "tmdb")))

	// The Monitor evaluates at once after such a change; Start would also
	// evaluate every minute.
	if err := eng.Evaluate(ctx); err != nil {
		panic(err)
	}
	for _, a := range eng.Active() {
		fmt.Println(a.Level, a.State, a.Title)
	}
	fmt.Println(eng.CountsByLevel())
	_ = eng.Shutdown(ctx)
	// Output:
	// critical firing Service tmdb is down
	// warning firing Circuit breaker for tmdb is open
	// map[info:0 warning:1 critical:1]
}

// Alerts are acknowledged by ID, as the HTTP API's acknowledge endpoint does.
func ExampleEngine_Acknowledge() {
	ctx := context.Background()
	eng, _ := alerting.New(alerting.Config{})
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(eng.Reader()))
	defer func() { _ = mp.Shutdown(ctx) }()
	_ = eng.AddRule(alerting.DefaultRules()[0]) // consecutive_sync_failures

	failures, _ := mp.Meter("example").Int64Gauge("radarr_list_sync_consecutive_failures")
	failures.Record(ctx, 3, metric.WithAttributes(attribute.String("source", "imdb")))
	_ = eng.Evaluate(ctx)

	id := eng.Active()[0].ID
	a, err := eng.Acknowledge(id, "alice", "IMDb list URL changed; fixing")
	fmt.Println(a.Title, "- acknowledged by", a.AcknowledgedBy, err)

	failures.Record(ctx, 0, metric.WithAttributes(attribute.String("source", "imdb")))
	_ = eng.Evaluate(ctx)
	_, err = eng.Acknowledge(id, "bob", "")
	fmt.Println(err)
	_ = eng.Shutdown(ctx)
	// Output:
	// 3 consecutive sync failures for imdb - acknowledged by alice <nil>
	// alerting: alert already resolved: "2fd26ec5eb46fc0313fa"
}

// A host service writes rules on its own instruments with Threshold.
func ExampleThreshold() {
	ctx := context.Background()
	eng, _ := alerting.New(alerting.Config{})
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(eng.Reader()))
	defer func() { _ = mp.Shutdown(ctx) }()
	err := eng.AddRule(alerting.Rule{
		Name:      "import_queue_backlog",
		Level:     alerting.Warning,
		Condition: alerting.Threshold{Instrument: "myapp_import_queue_depth", Op: alerting.OpGreater, Value: 500},
		For:       5 * time.Minute,
	})
	fmt.Println(err)

	depth, _ := mp.Meter("myapp").Int64Gauge("myapp_import_queue_depth")
	depth.Record(ctx, 800, metric.WithAttributes(attribute.String("queue", "movies")))
	_ = eng.Evaluate(ctx)
	for _, a := range eng.Active() {
		fmt.Println(a.State, a.Title)
	}
	_ = eng.Shutdown(ctx)
	// Output:
	// <nil>
	// pending myapp_import_queue_depth is 800 (> 500) for queue=movies
}

// The log notifier writes each notification with log/slog. Shutdown
// delivers what is queued before it returns.
func ExampleNewLogNotifier() {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	eng, _ := alerting.New(alerting.Config{}, alerting.WithNotifier(alerting.NewLogNotifier(logger)))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(eng.Reader()))
	defer func() { _ = mp.Shutdown(ctx) }()
	_ = eng.AddRule(alerting.DefaultRules()[3]) // service_down
	_ = eng.Start(ctx)

	up, _ := mp.Meter("example").Int64Gauge("radarr_list_sync_service_up")
	up.Record(ctx, 0, metric.WithAttributes(attribute.String("service", "plex")))
	_ = eng.Evaluate(ctx)
	_ = eng.Shutdown(ctx)
	// Output:
	// level=ERROR msg="alert firing: Service plex is down" id=c9350afe28afa3a1ecf4 rule=service_down severity=critical state=firing value=0 labels.service=plex
}

// PrometheusRules writes the rules' twins for Prometheus.
func ExamplePrometheusRules() {
	out, err := alerting.PrometheusRules(alerting.DefaultRules()[3:4])
	fmt.Print(string(out), err)
	// Output:
	// # Prometheus twins of otelmon's in-process alert rules.
	// groups:
	//   - name: "radarr_list_sync_alerts"
	//     rules:
	//       - alert: "service_down"
	//         expr: "radarr_list_sync_service_up == 0"
	//         labels:
	//           severity: "critical"
	//         annotations:
	//           summary: "Service {{ $labels.service }} is down"
	//           description: "An external service fails its health checks."
	// <nil>
}
