package otelmon_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/listsync/otelmon/otelmon"
)

// A host's records name the span of the context they are logged with.
func ExampleNewTraceLogHandler() {
	text := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output
			}
			return a
		},
	})
	logger := slog.New(otelmon.NewTraceLogHandler(text))
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	}))
	logger.InfoContext(ctx, "synced", "source", "imdb")
	// Output:
	// level=INFO msg=synced source=imdb trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7
}

// A host that traces passes its provider; every monitored job is a span.
func ExampleWithTracerProvider() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx := context.Background()
	defer tp.Shutdown(ctx)
	mon, err := otelmon.New(otelmon.DefaultConfig(), otelmon.WithAPIKey("example-key"), otelmon.WithTracerProvider(tp))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mon.Shutdown(ctx)
	sync := mon.MonitoredSyncHandler(otelmon.SyncHandlerFunc(func(context.Context, otelmon.SyncJob) (otelmon.SyncResult, error) {
		return otelmon.SyncResult{}, errors.New("list https://api.example/list?api_key=s3cr3t: 503")
	}))
	_, _ = sync.ExecuteSync(ctx, otelmon.SyncJob{Source: "tmdb"})
	for _, s := range rec.Ended() {
		fmt.Println(s.Name(), s.Status().Code, s.Status().Description)
	}
	// Output:
	// sync tmdb Error list https://api.example/list?api_key=xxxxx: 503
}
