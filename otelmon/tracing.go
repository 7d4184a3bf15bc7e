package otelmon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/internal/redact"
)

// Span and event names, and the attributes otelmon puts on spans. Metric
// labels keep their short names (source, service); span attributes are
// namespaced, as the semantic conventions ask of a library's own.
const (
	// AttrSource is the source of a sync job's span.
	AttrSource = "otelmon.source"
	// AttrService is the service of a client span or of an event.
	AttrService = "otelmon.service"
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
	EventBreakerRejected = "otelmon.breaker.rejected"
	// EventBreakerOutcome is added to the caller's span by
	// ExecuteWithCircuitBreaker and Execute.
	EventBreakerOutcome = "otelmon.breaker.outcome"
	// EventPacerWait is added to the current span when a request waited
	// for its service's pacer (attribute otelmon.wait.seconds), or was
	// refused a wait past its deadline or MaxWait (otelmon.wait.refused).
	EventPacerWait = "otelmon.pacer.wait"
	// EventRetry is added to the current span before a request is sent
	// again (attributes otelmon.retry.attempt, the attempt about to be
	// made, otelmon.retry.reason and otelmon.retry.delay.seconds).
	EventRetry = "otelmon.retry"
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
}

func newTracing(tp trace.TracerProvider, healthSpans bool) tracing {
	if tp == nil {
		return tracing{client: noop.NewTracerProvider()}
	}
	p := &redactingProvider{tp: tp}
	return tracing{
		provider:    p,
		tracer:      p.Tracer(ScopeName, trace.WithInstrumentationVersion(Version)),
		client:      scopedTracerProvider{tp: p, scope: APIClientScope},
		healthSpans: healthSpans,
	}
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
			msg = redactText(RedactError(err).Error())
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

// breakerEvent adds EventBreakerRejected for service to ctx's span when
// err is a breaker's rejection. It costs a context lookup when ctx has no
// recording span.
func breakerEvent(ctx context.Context, service string, err error) {
	if !errors.Is(err, breaker.ErrOpen) && !errors.Is(err, breaker.ErrTooManyRequests) {
		return
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	state := "open"
	if errors.Is(err, breaker.ErrTooManyRequests) {
		state = "half-open"
	}
	span.AddEvent(EventBreakerRejected, trace.WithAttributes(
		attribute.String(AttrService, service),
		attribute.String("otelmon.breaker.state", state)))
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
		breakerEvent(ctx, service, err)
		outcome = outcomeRejected
	case err != nil:
		outcome = outcomeFailure
	}
	attrs := []attribute.KeyValue{attribute.String(AttrService, service), attribute.String("otelmon.breaker.result", outcome)}
	if err != nil {
		attrs = append(attrs, attribute.String("otelmon.error", redactText(RedactError(err).Error())))
	}
	span.AddEvent(EventBreakerOutcome, trace.WithAttributes(attrs...))
}

// pacerEvent adds EventPacerWait to span for a wait of d (refused: the
// pacer would not wait, err is its refusal).
func pacerEvent(span trace.Span, service string, d time.Duration, err error) {
	attrs := []attribute.KeyValue{attribute.String(AttrService, service), attribute.Float64("otelmon.wait.seconds", d.Seconds())}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		attrs = append(attrs, attribute.Bool("otelmon.wait.refused", true),
			attribute.Float64("otelmon.wait.needed.seconds", rl.Wait.Seconds()),
			attribute.Bool("otelmon.wait.paused", rl.Paused))
	}
	span.AddEvent(EventPacerWait, trace.WithAttributes(attrs...))
}

// retryEvent adds EventRetry to span before attempt (2 or more).
func retryEvent(span trace.Span, service string, attempt int, resp retryCause, delay time.Duration) {
	span.AddEvent(EventRetry, trace.WithAttributes(
		attribute.String(AttrService, service),
		attribute.Int("otelmon.retry.attempt", attempt),
		attribute.String("otelmon.retry.reason", resp.reason()),
		attribute.Float64("otelmon.retry.delay.seconds", delay.Seconds())))
}

// retryCause is what made an attempt worth another: a status or an error.
type retryCause struct {
	status int
	err    error
}

func (c retryCause) reason() string {
	if c.err != nil {
		return redactText(RedactError(c.err).Error())
	}
	return fmt.Sprintf("status %d", c.status)
}

// scopedTracerProvider hands out tracers of one fixed scope, whatever name
// the instrumentation library asks for: otelhttp's client spans appear
// under APIClientScope.
type scopedTracerProvider struct {
	embedded.TracerProvider
	tp    trace.TracerProvider
	scope string
}

func (p scopedTracerProvider) Tracer(_ string, opts ...trace.TracerOption) trace.Tracer {
	return p.tp.Tracer(p.scope, opts...)
}

// redactingProvider wraps a TracerProvider so that no secret reaches a
// span made through it: span names, attributes, event attributes, status
// descriptions and recorded errors have the values of URL queries and user
// information masked (url.full above all, which otelhttp records with its
// query), secret key=value pairs masked in text, and authorization, cookie
// and API-key headers masked whole.
type redactingProvider struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

func (p *redactingProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return &redactingTracer{t: p.tp.Tracer(name, opts...), p: p}
}

type redactingTracer struct {
	embedded.Tracer
	t trace.Tracer
	p *redactingProvider
}

func (t *redactingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	if attrs := cfg.Attributes(); len(attrs) > 0 {
		opts = append(opts, trace.WithAttributes(redactAttrs(attrs)...)) // later values win
	}
	ctx, s := t.t.Start(ctx, redactText(name), opts...)
	if !s.IsRecording() {
		return ctx, s
	}
	rs := &redactingSpan{Span: s, p: t.p}
	return trace.ContextWithSpan(ctx, rs), rs
}

// redactingSpan masks secrets in what is written to the span it wraps.
type redactingSpan struct {
	trace.Span
	p *redactingProvider
}

func (s *redactingSpan) SetName(name string) { s.Span.SetName(redactText(name)) }

func (s *redactingSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.Span.SetAttributes(redactAttrs(kv)...)
}

func (s *redactingSpan) SetStatus(code codes.Code, description string) {
	s.Span.SetStatus(code, redactText(description))
}

func (s *redactingSpan) AddEvent(name string, opts ...trace.EventOption) {
	cfg := trace.NewEventConfig(opts...)
	s.Span.AddEvent(redactText(name), trace.WithAttributes(redactAttrs(cfg.Attributes())...),
		trace.WithTimestamp(cfg.Timestamp()), trace.WithStackTrace(cfg.StackTrace()))
}

// RecordError adds the standard exception event, with the error's type
// and its redacted message.
func (s *redactingSpan) RecordError(err error, opts ...trace.EventOption) {
	if err == nil {
		return
	}
	cfg := trace.NewEventConfig(opts...)
	attrs := append([]attribute.KeyValue{
		attribute.String("exception.type", errorType(err)),
		attribute.String("exception.message", redactText(RedactError(err).Error())),
	}, redactAttrs(cfg.Attributes())...)
	s.Span.AddEvent("exception", trace.WithAttributes(attrs...), trace.WithTimestamp(cfg.Timestamp()))
}

func (s *redactingSpan) TracerProvider() trace.TracerProvider { return s.p }

func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.PkgPath() == "" && t.Name() == "" {
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}

// urlKeys are attributes whose value is a URL, or a URL's query.
var urlKeys = map[attribute.Key]bool{
	"url.full": true, "http.url": true, "url.original": true, "http.target": true,
	"url.query": true, "server.url": true,
}

// redactAttrs returns kv with secrets masked; kv itself is not changed,
// and is returned as is when nothing in it is secret.
func redactAttrs(kv []attribute.KeyValue) []attribute.KeyValue {
	var out []attribute.KeyValue
	for i, a := range kv {
		r, changed := redactAttr(a)
		if !changed {
			if out != nil {
				out = append(out, a)
			}
			continue
		}
		if out == nil {
			out = append(make([]attribute.KeyValue, 0, len(kv)), kv[:i]...)
		}
		out = append(out, r)
	}
	if out == nil {
		return kv
	}
	return out
}

// redactAttr returns a with its secrets masked, and whether it had any.
func redactAttr(a attribute.KeyValue) (attribute.KeyValue, bool) {
	switch a.Value.Type() {
	case attribute.STRING, attribute.STRINGSLICE:
	default:
		return a, false // numbers and booleans hold no secret
	}
	if secretHeader(string(a.Key)) {
		if a.Value.Type() == attribute.STRINGSLICE {
			masked := make([]string, len(a.Value.AsStringSlice()))
			for i := range masked {
				masked[i] = redact.Mask
			}
			return attribute.StringSlice(string(a.Key), masked), true
		}
		return attribute.String(string(a.Key), redact.Mask), true
	}
	if a.Value.Type() == attribute.STRINGSLICE {
		vs := a.Value.AsStringSlice()
		var out []string
		for i, v := range vs {
			if r := redactText(v); r != v {
				if out == nil {
					out = slices.Clone(vs)
				}
				out[i] = r
			}
		}
		if out == nil {
			return a, false
		}
		return attribute.StringSlice(string(a.Key), out), true
	}
	v := a.Value.AsString()
	r := v
	switch {
	case a.Key == "url.query":
		r = strings.TrimPrefix(redact.URL("/?"+v), "/?")
	case urlKeys[a.Key]:
		r = redact.URL(v)
	default:
		r = redactText(v)
	}
	if r == v {
		return a, false
	}
	return attribute.String(string(a.Key), r), true
}

// secretHeader reports whether an attribute key names a header that holds
// a credential (http.request.header.authorization, ...x-api-key, ...).
func secretHeader(key string) bool {
	if !strings.Contains(key, ".header.") {
		return false
	}
	key = strings.ToLower(key)
	i := strings.LastIndex(key, ".header.")
	h := strings.ReplaceAll(key[i+len(".header."):], "_", "-")
	switch h {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	return strings.Contains(h, "key") || strings.Contains(h, "token") || strings.Contains(h, "secret") ||
		strings.Contains(h, "auth") || strings.Contains(h, "password")
}

var (
	urlInText    = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]*[^\s"'<>.,;:!?)\]]`) // not the punctuation after it
	secretInText = regexp.MustCompile(`(?i)([a-z0-9_.-]*(?:key|token|secret|password|passwd|signature|auth|session)[a-z0-9_.-]*=)([^&\s"'<>]*[^&\s"'<>.,;:!?)\]])`)
	bearerInText = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]+`)
)

// redactText masks what looks like a secret in free text: every URL
// (its query values and user information, as redact.URL does), key=value
// pairs whose key names a secret (api_key=, token=, X-Plex-Token=, ...),
// and bearer or basic credentials.
func redactText(s string) string {
	if !strings.ContainsAny(s, ":=") && !strings.Contains(strings.ToLower(s), "bearer") && !strings.Contains(strings.ToLower(s), "basic") {
		return s
	}
	if strings.Contains(s, "://") {
		s = urlInText.ReplaceAllStringFunc(s, redact.URL)
	}
	if strings.Contains(s, "=") {
		s = secretInText.ReplaceAllString(s, "${1}"+redact.Mask)
	}
	s = bearerInText.ReplaceAllString(s, "${1} "+redact.Mask)
	return s
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

// buildTracing sets up the Monitor's tracing from o: the host's provider,
// or one built from the environment, or none.
func (m *Monitor) buildTracing(o options) error {
	tp := o.tracerProvider
	if tp == nil && exporters.TracesWanted() {
		if o.spanExporters == nil {
			m.logger.Warn("otelmon: " + exporters.EnvTracesExporter + " is set, but no span exporter is linked (WithSpanExporters): nothing is traced")
		} else {
			ctx := context.Background()
			res, err := exporters.Resource(ctx, o.serviceName, o.serviceVersion)
			if err != nil {
				return err
			}
			if m.ownedTP, err = exporters.NewTracerProvider(ctx, res, o.spanExporters); err != nil {
				return err
			}
			if m.ownedTP != nil {
				tp = m.ownedTP
			}
		}
	}
	m.tracing = newTracing(tp, o.healthSpans)
	return nil
}

// shutdownTracer flushes and shuts down a tracer provider the Monitor
// built.
func (m *Monitor) shutdownTracer(ctx context.Context) error {
	if m.ownedTP == nil {
		return nil
	}
	return shutdownOwned(ctx, "tracer provider", m.ownedTP)
}

// TracerProvider returns the provider the Monitor traces on (wrapped so
// that no secret reaches a span), or nil when it does not trace.
func (m *Monitor) TracerProvider() trace.TracerProvider { return m.tracing.provider }

// logSyncEnd logs, at debug level, a job that did not succeed. ctx carries
// the job's span, so the record names its trace.
func (m *Monitor) logSyncEnd(ctx context.Context, job SyncJob, outcome string, err error) {
	if !m.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("source", job.Source), slog.String("outcome", outcome)}
	if job.ID != "" {
		attrs = append(attrs, slog.String("job", job.ID))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", RedactError(err).Error()))
	}
	m.logger.LogAttrs(ctx, slog.LevelDebug, "otelmon: sync did not succeed", attrs...)
}

// probeSpans returns base with a client span per health check request,
// named "health <service>", when WithHealthCheckSpans asked for them; base
// itself otherwise. The probes' metrics are otelmon's own: otelhttp
// records none for them.
func (t *tracing) probeSpans(service string, base http.RoundTripper) http.RoundTripper {
	if !t.healthSpans || t.tracer == nil {
		return base
	}
	name := "health " + service
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(t.client),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(string, *http.Request) string { return name }),
		otelhttp.WithSpanOptions(trace.WithAttributes(attribute.String(AttrService, service))))
}
