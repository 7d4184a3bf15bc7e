package exporters_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/exporters/push"
	"github.com/listsync/otelmon/internal/syncbuf"
	"github.com/listsync/otelmon/otelmon"
)

// traceReceiver is an OTLP/gRPC trace service that keeps what it gets.
type traceReceiver struct {
	coltracepb.UnimplementedTraceServiceServer
	mu       sync.Mutex // guards spans and resource
	spans    []*tracepb.Span
	resource map[string]string
}

func (r *traceReceiver) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, kv := range rs.GetResource().GetAttributes() {
			r.resource[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		for _, ss := range rs.GetScopeSpans() {
			r.spans = append(r.spans, ss.GetSpans()...)
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func startTraceReceiver(t *testing.T) (*traceReceiver, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &traceReceiver{resource: map[string]string{}}
	return r, serveGRPC(t, lis, func(srv *grpc.Server) { coltracepb.RegisterTraceServiceServer(srv, r) })
}

// With OTEL_TRACES_EXPORTER=otlp the Monitor builds a tracer provider from
// the standard variables; its Shutdown flushes the spans to the receiver.
func TestTracesFromEnvironment(t *testing.T) {
	recv, endpoint := startTraceReceiver(t)
	t.Setenv(exporters.EnvMetricsExporter, "")
	t.Setenv(exporters.EnvTracesExporter, "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	t.Setenv("OTEL_SERVICE_NAME", "listsync-test")

	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"results":[]}`)
	}))
	t.Cleanup(api.Close)
	mon, err := otelmon.New(otelmon.DefaultConfig(), otelmon.WithSpanExporters(push.SpanExporter))
	if err != nil {
		t.Fatal(err)
	}
	if mon.TracerProvider() == nil {
		t.Fatal("no tracer provider built")
	}
	h := mon.MonitoredSyncHandler(otelmon.SyncHandlerFunc(func(ctx context.Context, job otelmon.SyncJob) (otelmon.SyncResult, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.URL+"/3/list/1?api_key=s3cr3t", nil)
		resp, err := job.HTTPClient(job.Source).Do(req)
		if err != nil {
			return otelmon.SyncResult{}, err
		}
		resp.Body.Close()
		return otelmon.SyncResult{ItemsFound: 1}, nil
	}))
	if _, err := h.ExecuteSync(context.Background(), otelmon.SyncJob{Source: "tmdb"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := mon.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.resource["service.name"] != "listsync-test" {
		t.Errorf("resource %v", recv.resource)
	}
	var job, client *tracepb.Span
	for _, s := range recv.spans {
		switch {
		case s.GetName() == "sync tmdb":
			job = s
		case s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT:
			client = s
		}
		for _, kv := range s.GetAttributes() {
			if strings.Contains(kv.GetValue().GetStringValue(), "s3cr3t") {
				t.Errorf("span %q: %s carries the key", s.GetName(), kv.GetKey())
			}
		}
	}
	if job == nil || client == nil {
		t.Fatalf("received %d spans, want the job's and its request's", len(recv.spans))
	}
	if string(client.GetParentSpanId()) != string(job.GetSpanId()) || string(client.GetTraceId()) != string(job.GetTraceId()) {
		t.Error("the request's span is not a child of the job's")
	}
}

// Without OTEL_TRACES_EXPORTER nothing is traced and no exporter is made;
// set without a linked span exporter, it is ignored with a warning.
func TestTracesNotWanted(t *testing.T) {
	t.Setenv(exporters.EnvMetricsExporter, "")
	for _, tc := range []struct {
		name, env string
		warn      bool
	}{
		{"unset", "", false},
		{"none", "none", false},
		{"otlp, not linked", "otlp", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(exporters.EnvTracesExporter, tc.env)
			var buf syncbuf.Buffer
			mon, err := otelmon.New(otelmon.DefaultConfig(), otelmon.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = mon.Shutdown(context.Background()) })
			if mon.TracerProvider() != nil {
				t.Error("a tracer provider was built")
			}
			if got := buf.Contains("no span exporter is linked"); got != tc.warn {
				t.Errorf("warning logged = %v, want %v:\n%s", got, tc.warn, buf.String())
			}
		})
	}
	t.Setenv(exporters.EnvTracesExporter, "otlp")
	if _, err := exporters.NewTracerProvider(context.Background(), nil, nil); !errors.Is(err, exporters.ErrPushNotLinked) {
		t.Errorf("NewTracerProvider without a SpanExporterFunc: %v", err)
	}
}
