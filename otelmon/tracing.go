package otelmon

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/internal/redact"
	"github.com/listsync/otelmon/otelmon/internal/clientstack"
	"github.com/listsync/otelmon/otelmon/internal/spanredact"
)

// Span and event names, and the attributes otelmon puts on spans. Metric
// labels keep their short names (source, service); span attributes are
// namespaced, as the semantic conventions ask of a library's own.
const (
	// AttrSource is the source of a sync job's span.
	AttrSource = "otelmon.source"
	// AttrService is the service of a client span or of an event.
	AttrService = clientstack.AttrService
	// AttrSyncOutcome is how a sync job ended: "success", "failure",
	// "rejected" (its breaker was open), "throttled" (it failed because the
	// service throttled it), "canceled" (the caller's context ended) or
	// "panic".
	AttrSyncOutcome = "otelmon.sync.outcome"
	// AttrItemsAdded, AttrItemsUpdated and AttrItemsFound are a sync job's
	// item counts (a failed job's partial counts included).
	AttrItemsAdded   = "otelmon.sync.items.added"
	AttrItemsUpdated = "otelmon.sync.items.updated"
	AttrItemsFound   = "otelmon.sync.items.found"

	// EventBreakerRejected is added to the current span when a circuit
	// breaker rejects a request or a job.
	EventBreakerRejected = clientstack.EventBreakerRejected
	// EventBreakerOutcome is added to the caller's span by
	// ExecuteWithCircuitBreaker and Execute.
	EventBreakerOutcome = "otelmon.breaker.outcome"
	// EventPacerWait is added to the current span when a request waited
	// for its service's pacer (attribute otelmon.wait.seconds), or was
	// refused a wait past its deadline or MaxWait (otelmon.wait.refused).
	EventPacerWait = clientstack.EventPacerWait
	// EventRetry is added to the current span before a request is sent
	// again (attributes otelmon.retry.attempt, the attempt about to be
	// made, otelmon.retry.reason and otelmon.retry.delay.seconds).
	EventRetry = clientstack.EventRetry
)

// Outcomes of a sync job, as in AttrSyncOutcome.
const (
	outcomeSuccess   = "success"
	outcomeFailure   = "failure"
	outcomeRejected  = "rejected"
	outcomeThrottled = "throttled"
	outcomeCanceled  = "canceled"
	outcomePanic     = "panic"
)

// tracing is the Monitor's tracer, or none.
type tracing struct {
	// provider wraps the host's (or the built) provider with redaction;
	// nil when the Monitor does not trace.
	provider trace.TracerProvider
	tracer   trace.Tracer // provider's tracer under ScopeName; nil when not tracing
	// client is what otelhttp gets: provider under APIClientScope, or a
	// no-op provider, so that otelhttp never falls back to the global one.
	client      trace.TracerProvider
	healthSpans bool
	owned       *sdktrace.TracerProvider // nil unless the Monitor built its tracer provider
	urlTemplate string                   // WithTraceURLTemplate, for the status page
}

// newTracing returns the tracing o asks for: on the host's provider
// (WithTracerProvider), on one built from o's span exporters when
// OTEL_TRACES_EXPORTER asks for traces, or none. Its provider hides
// secrets from spans (spanredact).
func newTracing(o options, logger *slog.Logger) (tracing, error) {
	tp := o.tracerProvider
	var owned *sdktrace.TracerProvider
	if tp == nil && exporters.TracesWanted() {
		if o.spanExporters == nil {
			logger.Warn("otelmon: " + exporters.EnvTracesExporter + " is set, but no span exporter is linked (WithSpanExporters): nothing is traced")
		} else {
			ctx := context.Background()
			res, err := exporters.Resource(ctx, o.serviceName, o.serviceVersion)
			if err != nil {
				return tracing{}, err
			}
			if owned, err = exporters.NewTracerProvider(ctx, res, o.spanExporters); err != nil {
				return tracing{}, err
			}
			if owned != nil {
				tp = owned
			}
		}
	}
	t := tracing{client: noop.NewTracerProvider(), owned: owned, urlTemplate: o.traceURLTemplate}
	if tp != nil {
		p := spanredact.Provider(tp)
		t.provider = p
		t.tracer = p.Tracer(ScopeName, trace.WithInstrumentationVersion(Version))
		t.client = scopedTracerProvider{tp: p, scope: APIClientScope}
		t.healthSpans = o.healthSpans
	}
	return t, nil
}

// shutdown flushes and shuts down a tracer provider the Monitor built.
func (t *tracing) shutdown(ctx context.Context) error {
	if t.owned == nil {
		return nil
	}
	return shutdownOwned(ctx, "tracer provider", t.owned)
}

// startSync starts a sync job's span: "sync <source>", a child of ctx's
// span. Without tracing it returns ctx and a nil span.
func (t *tracing) startSync(ctx context.Context, source string) (context.Context, trace.Span) {
	if t.tracer == nil {
		return ctx, nil
	}
	return t.tracer.Start(ctx, "sync "+source, trace.WithAttributes(attribute.String(AttrSource, source)))
}

// endSync ends a sync job's span with its counts and outcome; a job that
// did not succeed sets the span's status to error, with the redacted error.
func endSync(span trace.Span, outcome string, res SyncResult, err error) {
	if span == nil {
		return
	}
	span.SetAttributes(
		attribute.String(AttrSyncOutcome, outcome),
		attribute.Int64(AttrItemsAdded, clampInt64(res.ItemsAdded)),
		attribute.Int64(AttrItemsUpdated, clampInt64(res.ItemsUpdated)),
		attribute.Int64(AttrItemsFound, clampInt64(res.ItemsFound)))
	if outcome != outcomeSuccess {
		msg := outcome
		if err != nil {
			msg = redact.ErrorText(err)
			span.RecordError(err)
		}
		span.SetStatus(codes.Error, msg)
	}
	span.End()
}

func clampInt64(n uint64) int64 {
	if n > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(n)
}

// syncOutcome names how a job ended, for its span and its log record.
func syncOutcome(callerDone, returned, throttled bool, err error) string {
	switch {
	case !returned:
		return outcomePanic
	case callerDone:
		return outcomeCanceled
	case err == nil:
		return outcomeSuccess
	case errors.Is(err, breaker.ErrOpen), errors.Is(err, breaker.ErrTooManyRequests):
		return outcomeRejected
	case throttled:
		return outcomeThrottled
	}
	return outcomeFailure
}

// executeEvent records ExecuteWithCircuitBreaker's outcome on the caller's
// span.
func executeEvent(ctx context.Context, service string, err error) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	outcome := outcomeSuccess
	switch {
	case errors.Is(err, breaker.ErrOpen), errors.Is(err, breaker.ErrTooManyRequests):
		clientstack.BreakerEvent(ctx, service, err)
		outcome = outcomeRejected
	case err != nil:
		outcome = outcomeFailure
	}
	attrs := []attribute.KeyValue{attribute.String(AttrService, service), attribute.String("otelmon.breaker.result", outcome)}
	if err != nil {
		attrs = append(attrs, attribute.String("otelmon.error", redact.ErrorText(err)))
	}
	span.AddEvent(EventBreakerOutcome, trace.WithAttributes(attrs...))
}

// scopedTracerProvider hands out tracers of one fixed scope, whatever name
// the instrumentation library asks for, at otelmon's Version whatever
// version it states: otelhttp's client spans appear under APIClientScope.
type scopedTracerProvider struct {
	embedded.TracerProvider
	tp    trace.TracerProvider
	scope string
}

func (p scopedTracerProvider) Tracer(_ string, opts ...trace.TracerOption) trace.Tracer {
	return p.tp.Tracer(p.scope, append(slices.Clip(opts), trace.WithInstrumentationVersion(Version))...)
}

// TraceIDPlaceholder is what WithTraceURLTemplate replaces with a trace id.
const TraceIDPlaceholder = "{traceId}"

// validTraceURLTemplate checks a WithTraceURLTemplate value; empty is
// valid (no links).
func validTraceURLTemplate(tmpl string) error {
	if tmpl == "" {
		return nil
	}
	if !strings.Contains(tmpl, TraceIDPlaceholder) {
		return invalid("WithTraceURLTemplate", tmpl, "must contain "+TraceIDPlaceholder)
	}
	u, err := url.Parse(strings.ReplaceAll(tmpl, TraceIDPlaceholder, "0"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("WithTraceURLTemplate", tmpl, "must be an absolute http or https URL")
	}
	return nil
}

// TracerProvider returns the provider the Monitor traces on (wrapped so
// that no secret reaches a span), or nil when it does not trace.
func (m *Monitor) TracerProvider() trace.TracerProvider { return m.tracing.provider }

// logSyncEnd logs, at debug level, a job that did not succeed. ctx carries
// the job's span, so the record names its trace; its error is redacted as
// the span's is (redact.ErrorText).
func logSyncEnd(ctx context.Context, logger *slog.Logger, job SyncJob, outcome string, err error) {
	if !logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("source", job.Source), slog.String("outcome", outcome)}
	if job.ID != "" {
		attrs = append(attrs, slog.String("job", job.ID))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", redact.ErrorText(err)))
	}
	logger.LogAttrs(ctx, slog.LevelDebug, "otelmon: sync did not succeed", attrs...)
}
