// Package push builds the push metric readers that OTEL_METRICS_EXPORTER
// selects besides Prometheus: "otlp" (OTLP over HTTP or gRPC, with the
// standard OTEL_EXPORTER_OTLP_* variables), "console" and "none", and the
// span exporters OTEL_TRACES_EXPORTER selects ("otlp", "console"), through
// go.opentelemetry.io/contrib/exporters/autoexport.
//
// It is a package of its own so that a host that only serves Prometheus
// does not link the OTLP exporters, gRPC and protobuf: pass [Reader] to
// otelmon.WithPushExporters (or to exporters.New) only where push export is
// wanted. The demo and the examples do.
package push

import (
	"context"
	"fmt"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/listsync/otelmon/exporters"
)

var _ exporters.PushFunc = Reader

// Reader returns the reader of the push exporter kind names
// (exporters.KindOTLP, KindConsole or KindNone), configured from the
// environment. The reader of "otlp" or "console" runs its export loop from
// here on, until it or its MeterProvider shuts down.
func Reader(ctx context.Context, kind string) (sdkmetric.Reader, error) {
	r, err := autoexport.NewMetricReader(ctx)
	if err != nil {
		return nil, fmt.Errorf("exporters: %s exporter: %w", kind, err)
	}
	return r, nil
}

var _ exporters.SpanExporterFunc = SpanExporter

// SpanExporter returns the span exporter OTEL_TRACES_EXPORTER selects
// ("otlp", OTLP over HTTP or gRPC with the standard
// OTEL_EXPORTER_OTLP_* and OTEL_EXPORTER_OTLP_TRACES_* variables, or
// "console"), through autoexport. Pass it to otelmon.WithSpanExporters or
// exporters.NewTracerProvider.
func SpanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	e, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("exporters: span exporter: %w", err)
	}
	return e, nil
}
