package exporters

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// DefaultServiceName is the service.name of a process that names none: the
// Monitor's default (otelmon.WithServiceName) and so the job label of its
// series, and the job label of the Alertmanager notifier's alerts
// (alertmanager.WithServiceName), which must match for Alertmanager to
// take an in-process alert and its Prometheus twin for one alert.
const DefaultServiceName = "otelmon"

// EnvMetricsExporter is the standard variable that selects the exporter.
const EnvMetricsExporter = "OTEL_METRICS_EXPORTER"

// Exporter kinds, as spelled in OTEL_METRICS_EXPORTER.
const (
	KindPrometheus = "prometheus"
	KindOTLP       = "otlp"
	KindConsole    = "console"
	KindNone       = "none"
)

// ErrUnknownExporter is returned by New when OTEL_METRICS_EXPORTER names an
// exporter this package does not know.
var ErrUnknownExporter = errors.New("exporters: unknown metrics exporter")

// ErrPushNotLinked is returned by New when OTEL_METRICS_EXPORTER names a push
// exporter ("otlp", "console", "none") and no PushFunc was given: the
// program did not link package exporters/push.
var ErrPushNotLinked = errors.New("exporters: push exporters not linked")

// PushFunc makes the reader of a push exporter kind (KindOTLP, KindConsole
// or KindNone) from the environment. exporters/push.Reader is the one to
// use; it lives in its own package so that a program that only serves
// Prometheus does not link the OTLP exporters.
type PushFunc func(ctx context.Context, kind string) (sdkmetric.Reader, error)

// Metrics is the exporter selected by the environment: a reader to add to a
// MeterProvider, and the Prometheus handler when the exporter is Prometheus.
type Metrics struct {
	// Kind is one of KindPrometheus, KindOTLP, KindConsole, KindNone.
	Kind string
	// Reader goes into sdkmetric.WithReader. Shutting the provider down
	// shuts it down (and, for push exporters, flushes it).
	Reader sdkmetric.Reader
	// Prometheus is set when Kind is KindPrometheus.
	Prometheus *Prometheus
}

// New selects an exporter from OTEL_METRICS_EXPORTER, Prometheus by default.
// See the package documentation for the variables each one reads. One
// exporter at a time: a comma-separated list gives an error wrapping
// ErrUnknownExporter (a host that wants several builds its own provider and
// passes it to the Monitor). push makes the push exporters' readers; with
// push nil, a push kind gives an error wrapping ErrPushNotLinked. The
// reader of a push exporter runs from here on, until it or its
// MeterProvider shuts down.
func New(ctx context.Context, push PushFunc) (*Metrics, error) {
	raw := os.Getenv(EnvMetricsExporter)
	if strings.Contains(raw, ",") {
		return nil, fmt.Errorf("%w: %s=%q: one exporter at a time", ErrUnknownExporter, EnvMetricsExporter, raw)
	}
	kind := strings.TrimSpace(raw)
	switch kind {
	case "", KindPrometheus:
		p, err := NewPrometheus()
		if err != nil {
			return nil, err
		}
		return &Metrics{Kind: KindPrometheus, Reader: p.Reader(), Prometheus: p}, nil
	case KindOTLP, KindConsole, KindNone:
		if push == nil {
			return nil, fmt.Errorf("%w: %s=%q needs exporters/push (otelmon.WithPushExporters(push.Reader))", ErrPushNotLinked, EnvMetricsExporter, kind)
		}
		r, err := push(ctx, kind)
		if err != nil {
			return nil, err
		}
		return &Metrics{Kind: kind, Reader: r}, nil
	default:
		return nil, fmt.Errorf("%w: %s=%q (want prometheus, otlp, console or none)", ErrUnknownExporter, EnvMetricsExporter, kind)
	}
}

// instanceID is this process's service.instance.id: a random UUID, made
// once, as the semantic conventions recommend when nothing stabler is known.
var instanceID = sync.OnceValue(uuid.NewString)

// Resource describes the process to metric backends: service.name and
// service.version as given, service.instance.id a random UUID made once per
// process, each overridden by OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
// when set, plus the SDK's own attributes.
//
// The instance id keeps the series of two instances of one service apart
// once they meet in a collector or in Prometheus' remote write, which would
// otherwise merge them into one series that jumps between the instances'
// values. Set it stable with OTEL_RESOURCE_ATTRIBUTES (e.g.
// service.instance.id=$(POD_NAME)) when restarts should continue a series.
func Resource(ctx context.Context, serviceName, serviceVersion string) (*resource.Resource, error) {
	kvs := []attribute.KeyValue{semconv.ServiceName(serviceName), semconv.ServiceInstanceID(instanceID())}
	if serviceVersion != "" {
		kvs = append(kvs, semconv.ServiceVersion(serviceVersion))
	}
	r, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(kvs...),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("exporters: resource: %w", err)
	}
	return r, nil
}
