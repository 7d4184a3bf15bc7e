package otelmon

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/redact/redacttest"
	"github.com/listsync/otelmon/internal/syncbuf"
)

// Every case of the redaction corpus, as the error of a monitored sync
// job, is masked in the job span's status and exception event and in the
// Monitor's log line for the failed job, which keep the text around the
// secrets; no secret is anywhere in the span or the log.
func TestRedactionCorpusInSpanAndLog(t *testing.T) {
	var buf syncbuf.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := DefaultConfig()
	// Every case fails the same source: its breaker must not open.
	cfg.CircuitBreakers = map[string]breaker.Config{"corpus": {FailureThreshold: breaker.MaxFailureThreshold}}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	m, _ := newTestMonitor(t, cfg, WithTracerProvider(tp), WithLogger(logger))
	for _, c := range redacttest.Corpus() {
		t.Run(c.Name, func(t *testing.T) {
			h := m.MonitoredSyncHandler(SyncHandlerFunc(func(context.Context, SyncJob) (SyncResult, error) {
				return SyncResult{}, c.Err
			}))
			exp.Reset()
			_, _ = h.ExecuteSync(context.Background(), SyncJob{Source: "corpus"})
			spans := exp.GetSpans().Snapshots()
			if len(spans) != 1 || spans[0].Name() != "sync corpus" {
				t.Fatalf("spans %v, want the job's", spans)
			}
			span := spans[0]
			var exception string
			for _, e := range span.Events() {
				if e.Name == "exception" {
					if v, ok := attrOf(e.Attributes, "exception.message"); ok {
						exception = v.AsString()
					}
				}
			}
			rec := syncEndRecord(t, buf.String())
			logged, _ := rec["err"].(string)
			for where, text := range map[string]string{
				"span status":     span.Status().Description,
				"exception event": exception,
				"log record":      logged,
			} {
				for _, k := range c.Keep {
					if !strings.Contains(text, k) {
						t.Errorf("%s %q lost %q", where, text, k)
					}
				}
			}
			everything := buf.String() + spanText(span)
			for _, s := range c.Secrets {
				if strings.Contains(everything, s) {
					t.Errorf("%q reached the span or the log:\n%s", s, everything)
				}
			}
		})
	}
}
