package otelmon

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// benchTracerProvider samples every span and batches it to an exporter
// that drops it: the cost of tracing in the process, not of shipping.
func benchTracerProvider(b *testing.B) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// BenchmarkTracing compares a monitored sync job (that makes no request)
// and a loopback GET through the Monitor's client, untraced and traced.
func BenchmarkTracing(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"tracing=off", nil},
		{"tracing=on", []Option{WithTracerProvider(benchTracerProvider(b))}},
	} {
		b.Run("job/"+tc.name, func(b *testing.B) { benchSyncJob(b, benchMonitor(b, tc.opts...)) })
		b.Run("request/"+tc.name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, "ok")
			}))
			defer srv.Close()
			m := benchMonitor(b, tc.opts...)
			base := http.DefaultTransport.(*http.Transport).Clone()
			defer base.CloseIdleConnections()
			c := &http.Client{Transport: m.Transport("acme", base)}
			h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, _ SyncJob) (SyncResult, error) {
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/?api_key=k", nil)
					resp, err := c.Do(req)
					if err != nil {
						return SyncResult{}, err
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				b.StopTimer()
				return SyncResult{}, nil
			}))
			// The requests run inside one job, so that a traced one is a
			// child span of the job's, as in a real sync.
			if _, err := h.ExecuteSync(context.Background(), SyncJob{Source: "other"}); err != nil {
				b.Fatal(err)
			}
		})
	}
}
