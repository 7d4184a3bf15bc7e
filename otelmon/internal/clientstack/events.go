package clientstack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/httperr"
	"github.com/listsync/otelmon/internal/redact"
)

// The stack's span attribute and events; otelmon exports them under the
// same names (otelmon.AttrService, otelmon.EventPacerWait, ...), where
// they are documented.
const (
	AttrService          = "otelmon.service"
	EventBreakerRejected = "otelmon.breaker.rejected"
	EventPacerWait       = "otelmon.pacer.wait"
	EventRetry           = "otelmon.retry"
)

// BreakerEvent adds EventBreakerRejected to ctx's span, when it records
// and err is a breaker's rejection (open, or half-open and busy).
func BreakerEvent(ctx context.Context, service string, err error) {
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

// pacerEvent adds EventPacerWait to span: how long the request waited for
// the pacer, and, when err is a *httperr.RateLimitError, that the wait was
// refused and how long it would have been.
func pacerEvent(span trace.Span, service string, d time.Duration, err error) {
	attrs := []attribute.KeyValue{attribute.String(AttrService, service), attribute.Float64("otelmon.wait.seconds", d.Seconds())}
	var rl *httperr.RateLimitError
	if errors.As(err, &rl) {
		attrs = append(attrs, attribute.Bool("otelmon.wait.refused", true),
			attribute.Float64("otelmon.wait.needed.seconds", rl.Wait.Seconds()),
			attribute.Bool("otelmon.wait.paused", rl.Paused))
	}
	span.AddEvent(EventPacerWait, trace.WithAttributes(attrs...))
}

// retryEvent adds EventRetry to span before attempt is made, delay after
// the answer that caused it.
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

// reason is the cause as an event attribute: "status 503", or the
// redacted error.
func (c retryCause) reason() string {
	if c.err != nil {
		return redact.ErrorText(c.err)
	}
	return fmt.Sprintf("status %d", c.status)
}
