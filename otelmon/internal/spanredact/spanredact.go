// Package spanredact wraps a TracerProvider so that no secret reaches a
// span made through it. Every span the Monitor makes, and otelhttp's client
// spans, go through it.
package spanredact

import (
	"context"
	"reflect"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"github.com/listsync/otelmon/internal/redact"
)

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

// Provider returns tp wrapped so that span names, attributes, event
// attributes, status descriptions and recorded errors have their secrets
// masked (see redactingProvider).
func Provider(tp trace.TracerProvider) trace.TracerProvider {
	return &redactingProvider{tp: tp}
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
		opts = append(opts, trace.WithAttributes(Attrs(attrs)...)) // later values win
	}
	ctx, s := t.t.Start(ctx, redact.Text(name), opts...)
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

func (s *redactingSpan) SetName(name string) { s.Span.SetName(redact.Text(name)) }

func (s *redactingSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.Span.SetAttributes(Attrs(kv)...)
}

func (s *redactingSpan) SetStatus(code codes.Code, description string) {
	s.Span.SetStatus(code, redact.Text(description))
}

func (s *redactingSpan) AddEvent(name string, opts ...trace.EventOption) {
	cfg := trace.NewEventConfig(opts...)
	s.Span.AddEvent(redact.Text(name), trace.WithAttributes(Attrs(cfg.Attributes())...),
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
		attribute.String("exception.message", redact.ErrorText(err)),
	}, Attrs(cfg.Attributes())...)
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

// Attrs returns kv with secrets masked; kv itself is not changed,
// and is returned as is when nothing in it is secret.
func Attrs(kv []attribute.KeyValue) []attribute.KeyValue {
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
			if r := redact.Text(v); r != v {
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
		r = redact.Text(v)
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
