package otelmon

import (
	"context"
	"log/slog"
	"slices"

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
// trace_id and span_id stay at the top level of the record under
// logger.WithGroup too, where a log backend looks for them to link the
// record to its trace. It is safe for concurrent use if next is. A nil
// next gives nil.
func NewTraceLogHandler(next slog.Handler) slog.Handler {
	if next == nil {
		return nil
	}
	if h, ok := next.(traceLogHandler); ok {
		return h // already wrapped
	}
	return traceLogHandler{base: next, next: next}
}

// traceLogHandler keeps next as it was before the first WithGroup (base),
// and the WithGroup and WithAttrs calls made since (scope), so that a
// record with a span gets its trace attributes on base, at the top level,
// before the scope is replayed. Records of a handler with no group open,
// and records without a span, go to next directly.
type traceLogHandler struct {
	base  slog.Handler // next before the first WithGroup
	scope []scopeStep  // the calls since, in order; never appended to in place
	next  slog.Handler // base with scope applied
}

// scopeStep is one WithGroup (group != "") or WithAttrs call.
type scopeStep struct {
	group string
	attrs []slog.Attr
}

func (h traceLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h traceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return h.next.Handle(ctx, r)
	}
	ids := []slog.Attr{slog.String(LogKeyTraceID, sc.TraceID().String()), slog.String(LogKeySpanID, sc.SpanID().String())}
	if len(h.scope) == 0 {
		r = r.Clone()
		r.AddAttrs(ids...)
		return h.next.Handle(ctx, r)
	}
	next := h.base.WithAttrs(ids)
	for _, s := range h.scope {
		if s.group != "" {
			next = next.WithGroup(s.group)
		} else {
			next = next.WithAttrs(s.attrs)
		}
	}
	return next.Handle(ctx, r)
}

func (h traceLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if len(h.scope) == 0 {
		next := h.next.WithAttrs(attrs)
		return traceLogHandler{base: next, next: next}
	}
	return traceLogHandler{base: h.base, scope: h.with(scopeStep{attrs: attrs}), next: h.next.WithAttrs(attrs)}
}

func (h traceLogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return traceLogHandler{base: h.base, scope: h.with(scopeStep{group: name}), next: h.next.WithGroup(name)}
}

// with returns a copy of h.scope with s appended: handlers derived from one
// handler share nothing they could append to.
func (h traceLogHandler) with(s scopeStep) []scopeStep {
	return append(slices.Clip(h.scope), s)
}
