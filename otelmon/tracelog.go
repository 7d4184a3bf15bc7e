package otelmon

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log attribute keys of NewTraceLogHandler, as the OpenTelemetry log data
// model names them.
const (
	LogKeyTraceID = "trace_id"
	LogKeySpanID  = "span_id"
)

// NewTraceLogHandler returns a slog.Handler that adds trace_id and span_id
// (hex) to every record logged with a context that carries a valid span
// (logger.InfoContext(ctx, ...), say), and hands it on to next. Records
// logged without one pass unchanged. The Monitor's own records go through
// it, so those written during a monitored sync job name the job's trace; a
// host wraps its handler the same way so its own logs do:
//
//	logger := slog.New(otelmon.NewTraceLogHandler(slog.NewJSONHandler(os.Stderr, nil)))
//
// It is safe for concurrent use if next is. A nil next gives nil.
func NewTraceLogHandler(next slog.Handler) slog.Handler {
	if next == nil {
		return nil
	}
	if h, ok := next.(traceLogHandler); ok {
		return h // already wrapped
	}
	return traceLogHandler{next: next}
}

type traceLogHandler struct {
	next slog.Handler
}

func (h traceLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h traceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String(LogKeyTraceID, sc.TraceID().String()), slog.String(LogKeySpanID, sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

func (h traceLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceLogHandler{next: h.next.WithAttrs(attrs)}
}

func (h traceLogHandler) WithGroup(name string) slog.Handler {
	return traceLogHandler{next: h.next.WithGroup(name)}
}
