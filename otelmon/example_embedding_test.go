package otelmon_test

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/otelmon"
)

// A host that owns its MeterProvider adds otelmon's reader and Views to it
// and passes the provider and the Embedding to New. The Monitor's metrics
// and the host's share the host's exporter, and rules can watch the host's
// instruments.
func ExampleNewEmbedding() {
	ctx := context.Background()
	prom, err := exporters.NewPrometheus() // the host's exporter
	if err != nil {
		fmt.Println(err)
		return
	}
	emb := otelmon.NewEmbedding()
	mp := sdkmetric.NewMeterProvider(append(emb.ProviderOptions(), sdkmetric.WithReader(prom.Reader()))...)
	defer mp.Shutdown(ctx)
	mon, err := otelmon.New(otelmon.DefaultConfig(),
		otelmon.WithMeterProvider(mp), otelmon.WithEmbedding(emb), otelmon.WithAPIKey("example-key"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mon.Shutdown(ctx)

	// The host's own instrument, and a rule on it.
	queue, err := mp.Meter("example.com/importer").Int64UpDownCounter("host_import_queue_depth",
		metric.WithDescription("Items waiting for import."))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := mon.Alerts().AddRule(alerting.Rule{
		Name: "import_queue_deep", Level: alerting.Warning,
		Condition: alerting.Threshold{Instrument: "host_import_queue_depth", Op: alerting.OpGreater, Value: 50},
	}); err != nil {
		fmt.Println(err)
		return
	}
	queue.Add(ctx, 80)
	mon.RecordSyncOperation(ctx, "imdb", true, time.Second, 1, 0, 10)
	if err := mon.Alerts().Evaluate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range mon.Alerts().Alerts(alerting.Filter{Rule: "import_queue_deep"}) {
		fmt.Println(a.State, a.Title)
	}
	text, err := prom.Text(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	printSeries(text, "radarr_list_sync_sync_operations_total")
	// Output:
	// firing host_import_queue_depth is 80 (> 50)
	// radarr_list_sync_sync_operations_total{source="imdb"} 1
}
