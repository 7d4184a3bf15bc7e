package exporters

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// EnvTracesExporter is the standard variable that selects the span
// exporter. Unset (or "none"), no tracer provider is built.
const EnvTracesExporter = "OTEL_TRACES_EXPORTER"

// SpanExporterFunc makes the span exporter OTEL_TRACES_EXPORTER selects
// ("otlp", "console"), configured from the environment.
// exporters/push.SpanExporter is the one to use; like PushFunc, it lives
// in its own package so that a program that does not trace links no OTLP
// exporter.
type SpanExporterFunc func(ctx context.Context) (sdktrace.SpanExporter, error)

// TracesWanted reports whether OTEL_TRACES_EXPORTER asks for spans to be
// exported: it is set, and not "none".
func TracesWanted() bool {
	v := strings.TrimSpace(os.Getenv(EnvTracesExporter))
	return v != "" && v != KindNone
}

// NewTracerProvider returns a tracer provider that batches its spans to
// the exporter OTEL_TRACES_EXPORTER selects, made by f, with the resource
// res (see Resource); nil, and no error, when TracesWanted is false. f nil
// with traces wanted gives an error wrapping ErrPushNotLinked. The
// provider's sampler follows OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG
// (parent-based, always on, by default). The caller owns the provider: its
// Shutdown flushes the spans still batched. Nothing is set globally.
func NewTracerProvider(ctx context.Context, res *resource.Resource, f SpanExporterFunc) (*sdktrace.TracerProvider, error) {
	if !TracesWanted() {
		return nil, nil
	}
	if f == nil {
		return nil, fmt.Errorf("%w: %s=%q needs exporters/push (otelmon.WithSpanExporters(push.SpanExporter))",
			ErrPushNotLinked, EnvTracesExporter, os.Getenv(EnvTracesExporter))
	}
	exp, err := f(ctx)
	if err != nil {
		return nil, fmt.Errorf("exporters: span exporter: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp)}
	if res != nil {
		opts = append(opts, sdktrace.WithResource(res))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}
