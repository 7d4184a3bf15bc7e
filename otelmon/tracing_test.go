package otelmon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/alertmanager"
	"github.com/listsync/otelmon/alerting/webhook"
	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/syncbuf"
)

// secret is the API key the tests put in URLs; no span may carry it.
const secret = "s3cr3t-key"

// newTracedMonitor returns a Monitor that traces into a span recorder.
func newTracedMonitor(t *testing.T, opts ...Option) (*Monitor, *tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	m, _ := newTestMonitor(t, DefaultConfig(), append([]Option{WithTracerProvider(tp)}, opts...)...)
	return m, sr, tp
}

func attrOf(kvs []attribute.KeyValue, key string) (attribute.Value, bool) {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// noSecret fails the test if any span's name, attributes, events or
// status carries the secret or the URL's password.
func noSecret(t *testing.T, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	for _, s := range spans {
		if text := spanText(s); strings.Contains(text, secret) || strings.Contains(text, "hunter2") {
			t.Errorf("span %q carries a secret:\n%s", s.Name(), text)
		}
	}
}

// spanText returns all the text of s: its name, status, attributes and
// events, one line each.
func spanText(s sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	fmt.Fprintln(&b, s.Name(), s.Status().Description)
	for _, kv := range s.Attributes() {
		fmt.Fprintln(&b, kv.Key, kv.Value.String())
	}
	for _, e := range s.Events() {
		fmt.Fprintln(&b, e.Name)
		for _, kv := range e.Attributes {
			fmt.Fprintln(&b, kv.Key, kv.Value.String())
		}
	}
	return b.String()
}

// A monitored job is a span "sync <source>" under the caller's span; its
// request is a client span under it, under APIClientScope, with the
// service; the job's counts and outcome are attributes; a failed job has
// an error status with the redacted error; no secret is anywhere.
func TestSyncSpans(t *testing.T) {
	srv := statusServer(t)
	m, sr, tp := newTracedMonitor(t)
	keyed := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1)
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, job SyncJob) (SyncResult, error) {
		path := "/200"
		if job.ID == "bad" {
			path = "/500"
		}
		u := keyed + path + "?api_key=" + secret + "&page=2"
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := job.HTTPClient(job.Source).Do(req)
		if err != nil {
			return SyncResult{}, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			// A host's error that quotes the URL, key and all.
			return SyncResult{ItemsFound: 4}, fmt.Errorf("fetch %s: %s", u, resp.Status)
		}
		return SyncResult{ItemsFound: 10, ItemsAdded: 3, ItemsUpdated: 1}, nil
	}))
	ctx, parent := tp.Tracer("host").Start(context.Background(), "host job")
	if _, err := h.ExecuteSync(ctx, SyncJob{Source: "imdb", ID: "good"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ExecuteSync(ctx, SyncJob{Source: "imdb", ID: "bad"}); err == nil {
		t.Fatal("bad job succeeded")
	}
	parent.End()

	spans := sr.Ended()
	noSecret(t, spans)
	var syncs, clients []sdktrace.ReadOnlySpan
	for _, s := range spans {
		switch {
		case s.Name() == "sync imdb":
			syncs = append(syncs, s)
		case s.SpanKind() == trace.SpanKindClient:
			clients = append(clients, s)
		}
	}
	if len(syncs) != 2 || len(clients) != 2 {
		t.Fatalf("got %d sync and %d client spans of %d", len(syncs), len(clients), len(spans))
	}
	for i, s := range syncs {
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("sync span %d is not a child of the caller's span", i)
		}
		if s.InstrumentationScope().Name != ScopeName {
			t.Errorf("sync span scope %q", s.InstrumentationScope().Name)
		}
		c := clients[i]
		if c.Parent().SpanID() != s.SpanContext().SpanID() {
			t.Errorf("client span %d is not a child of its job's span", i)
		}
		if c.InstrumentationScope().Name != APIClientScope {
			t.Errorf("client span scope %q, want %q", c.InstrumentationScope().Name, APIClientScope)
		}
		if v, _ := attrOf(c.Attributes(), AttrService); v.AsString() != "imdb" {
			t.Errorf("client span service = %q", v.AsString())
		}
		u, _ := attrOf(c.Attributes(), "url.full")
		if !strings.Contains(u.AsString(), "api_key=xxxxx") || !strings.Contains(u.AsString(), "page=xxxxx") {
			t.Errorf("url.full = %q, want its query values masked", u.AsString())
		}
		if v, _ := attrOf(c.Attributes(), "http.response.status_code"); v.AsInt64() == 0 {
			t.Errorf("client span has no status code: %v", c.Attributes())
		}
	}
	good, bad := syncs[0], syncs[1]
	for _, want := range []struct {
		span  sdktrace.ReadOnlySpan
		key   string
		value attribute.Value
	}{
		{good, AttrSource, attribute.StringValue("imdb")},
		{good, AttrSyncOutcome, attribute.StringValue("success")},
		{good, AttrItemsAdded, attribute.Int64Value(3)},
		{good, AttrItemsUpdated, attribute.Int64Value(1)},
		{good, AttrItemsFound, attribute.Int64Value(10)},
		{bad, AttrSyncOutcome, attribute.StringValue("failure")},
		{bad, AttrItemsFound, attribute.Int64Value(4)},
	} {
		if v, ok := attrOf(want.span.Attributes(), want.key); !ok || v != want.value {
			t.Errorf("%s: %s = %v, want %v", want.span.Name(), want.key, v.String(), want.value.String())
		}
	}
	if good.Status().Code == codes.Error {
		t.Errorf("good job's status: %+v", good.Status())
	}
	if st := bad.Status(); st.Code != codes.Error || !strings.Contains(st.Description, "500") || !strings.Contains(st.Description, "api_key=xxxxx") {
		t.Errorf("bad job's status = %+v, want an error with the redacted URL", st)
	}
}

// A transport error quotes the URL in a *url.Error: the span's status
// keeps its scheme and host only.
func TestSyncSpanTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	m, sr, _ := newTracedMonitor(t)
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, job SyncJob) (SyncResult, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, dead+"/list?api_key="+secret, nil)
		resp, err := job.HTTPClient(job.Source).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return SyncResult{}, err
	}))
	if _, err := h.ExecuteSync(context.Background(), SyncJob{Source: "tmdb"}); err == nil {
		t.Fatal("request to a closed server succeeded")
	}
	spans := sr.Ended()
	noSecret(t, spans)
	var found bool
	for _, s := range spans {
		if s.Name() == "sync tmdb" {
			found = true
			if s.Status().Code != codes.Error {
				t.Errorf("status %+v", s.Status())
			}
			var exc bool
			for _, e := range s.Events() {
				exc = exc || e.Name == "exception"
			}
			if !exc {
				t.Error("no exception event")
			}
		}
	}
	if !found {
		t.Fatal("no sync span")
	}
}

// Retries, breaker rejections and ExecuteWithCircuitBreaker's outcome are
// events on the caller's span.
func TestSpanEvents(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			// A 503 with Retry-After 0 is retried at once (RFC 9110 §10.2.3).
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	m, sr, tp := newTracedMonitor(t, WithBreakerOptions(breaker.WithOpenTimeoutOverride(time.Hour)))
	ctx, span := tp.Tracer("host").Start(context.Background(), "host")
	client := m.HTTPClient("acme")
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/?token="+secret, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// The retry backs off on the fake clock.
	_, clk := m, m.clock
	fake := clk.(interface {
		BlockUntilTimers(int)
		Advance(time.Duration)
	})
	fake.BlockUntilTimers(1)
	fake.Advance(time.Minute)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom at https://x.example/?api_key=" + secret)
	_ = m.ExecuteWithCircuitBreaker(ctx, "acme", func(context.Context) error { return boom })
	b, _ := m.Breaker("acme")
	b.SetMode(breaker.ModeForcedOpen)
	if err := m.ExecuteWithCircuitBreaker(ctx, "acme", func(context.Context) error { return nil }); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("forced open: %v", err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := client.Do(req); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("request through an open breaker: %v", err)
	}
	span.End()

	noSecret(t, sr.Ended())
	counts := map[string]int{}
	var results []string
	for _, e := range span.(sdktrace.ReadOnlySpan).Events() {
		counts[e.Name]++
		if e.Name == EventBreakerOutcome {
			v, _ := attrOf(e.Attributes, "otelmon.breaker.result")
			results = append(results, v.AsString())
		}
		if e.Name == EventRetry {
			if v, _ := attrOf(e.Attributes, "otelmon.retry.reason"); v.AsString() != "status 503" {
				t.Errorf("retry reason %q", v.AsString())
			}
			if v, _ := attrOf(e.Attributes, "otelmon.retry.attempt"); v.AsInt64() != 2 {
				t.Errorf("retry attempt %d", v.AsInt64())
			}
		}
	}
	if counts[EventRetry] != 1 || counts[EventBreakerRejected] != 2 || counts[EventBreakerOutcome] != 2 {
		t.Errorf("events %v", counts)
	}
	if strings.Join(results, ",") != "failure,rejected" {
		t.Errorf("ExecuteWithCircuitBreaker outcomes %v", results)
	}
}

// A request that waits for its service's pacer gets a pacer event.
func TestPacerWaitEvent(t *testing.T) {
	srv := statusServer(t)
	cfg := DefaultConfig()
	cfg.RateLimits = map[string]RateLimit{"slow": {RequestsPerSecond: 1, Burst: 1}}
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	m, clk := newTestMonitor(t, cfg, WithTracerProvider(tp))
	client := m.HTTPClient("slow")
	ctx, span := tp.Tracer("host").Start(context.Background(), "host")
	get := func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(); err != nil { // the burst
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- get() }()
	clk.BlockUntilTimers(1)
	clk.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	span.End()
	var waits []float64
	for _, e := range span.(sdktrace.ReadOnlySpan).Events() {
		if e.Name == EventPacerWait {
			v, _ := attrOf(e.Attributes, "otelmon.wait.seconds")
			waits = append(waits, v.AsFloat64())
		}
	}
	if len(waits) != 1 || waits[0] < 0.5 {
		t.Fatalf("pacer wait events %v, want one of about 1 s", waits)
	}
}

// Health checks make no span unless WithHealthCheckSpans asks.
func TestHealthCheckSpans(t *testing.T) {
	srv := statusServer(t)
	for _, tc := range []struct {
		name string
		opts []Option
		want int
	}{
		{"default", nil, 0},
		{"asked", []Option{WithHealthCheckSpans()}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, sr, _ := newTracedMonitor(t, append(tc.opts, WithHealthCheckURLs(map[string]string{"imdb": srv.URL + "/?api_key=" + secret}))...)
			if err := m.SetupDefaultHealthCheckers(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := m.CheckHealthNow(context.Background(), "imdb"); err != nil {
				t.Fatal(err)
			}
			spans := sr.Ended()
			noSecret(t, spans)
			if len(spans) != tc.want {
				t.Fatalf("%d spans, want %d", len(spans), tc.want)
			}
			if tc.want > 0 && spans[0].Name() != "health imdb" {
				t.Errorf("span name %q", spans[0].Name())
			}
		})
	}
}

// Without a tracer provider nothing is traced, even under a host span
// whose provider otelhttp could have taken.
func TestNoTracerProviderNoSpans(t *testing.T) {
	srv := statusServer(t)
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	m, _ := newTestMonitor(t, DefaultConfig())
	if m.TracerProvider() != nil {
		t.Fatal("a Monitor without a provider traces")
	}
	ctx, span := tp.Tracer("host").Start(context.Background(), "host")
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, job SyncJob) (SyncResult, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := job.HTTPClient(job.Source).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return SyncResult{}, err
	}))
	if _, err := h.ExecuteSync(ctx, SyncJob{Source: "imdb"}); err != nil {
		t.Fatal(err)
	}
	span.End()
	if n := len(sr.Ended()); n != 1 {
		t.Fatalf("%d spans ended, want the host's only", n)
	}
}

// The duration histograms carry the job's trace as exemplars in the
// OpenMetrics exposition, which /metrics serves to a scraper that asks;
// other clients get the classic text format.
func TestExemplarsInOpenMetrics(t *testing.T) {
	srv := statusServer(t)
	m, _, _ := newTracedMonitor(t)
	var traceID string
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, job SyncJob) (SyncResult, error) {
		traceID = trace.SpanContextFromContext(ctx).TraceID().String()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := job.HTTPClient(job.Source).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return SyncResult{}, err
	}))
	if _, err := h.ExecuteSync(context.Background(), SyncJob{Source: "imdb"}); err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(m.Handler())
	t.Cleanup(api.Close)
	get := func(accept string) (string, string) {
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/metrics", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Content-Type"), string(b)
	}
	ct, body := get("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	if !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type %q", ct)
	}
	for _, metric := range []string{"radarr_list_sync_sync_duration_seconds_bucket", "radarr_list_sync_api_request_duration_seconds_bucket"} {
		found := false
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, metric) && strings.Contains(line, `trace_id="`+traceID+`"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("no exemplar of trace %s on %s:\n%s", traceID, metric, body)
		}
	}
	ct, body = get("")
	if !strings.HasPrefix(ct, "text/plain") || strings.Contains(body, "trace_id") {
		t.Errorf("default exposition: %q with exemplars=%v", ct, strings.Contains(body, "trace_id"))
	}
}

// Records the Monitor logs during a job carry its trace_id and span_id.
func TestSyncLogsCarryTrace(t *testing.T) {
	var buf syncbuf.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, sr, _ := newTracedMonitor(t, WithLogger(logger))
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(context.Context, SyncJob) (SyncResult, error) {
		return SyncResult{}, errors.New("list gone")
	}))
	_, _ = h.ExecuteSync(context.Background(), SyncJob{Source: "imdb"})
	var span sdktrace.ReadOnlySpan
	for _, s := range sr.Ended() {
		if s.Name() == "sync imdb" {
			span = s
		}
	}
	if span == nil {
		t.Fatal("no sync span")
	}
	rec := syncEndRecord(t, buf.String())
	if rec == nil {
		t.Fatalf("no record of the failed job:\n%s", buf.String())
	}
	if rec[LogKeyTraceID] != span.SpanContext().TraceID().String() || rec[LogKeySpanID] != span.SpanContext().SpanID().String() {
		t.Errorf("record %v does not name span %v", rec, span.SpanContext())
	}
}

// syncEndRecord returns the last record of a job that did not succeed in
// JSON lines, or nil.
func syncEndRecord(t *testing.T, lines string) map[string]any {
	t.Helper()
	var found map[string]any
	for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if rec["msg"] == "otelmon: sync did not succeed" {
			found = rec
		}
	}
	return found
}

// The record of a failed job shows its error redacted as its span's
// status is, for an error that quotes a URL itself rather than through an
// http.Client's *url.Error: TMDb's v3 API takes the key as ?api_key=
// (developer.themoviedb.org, "Authentication"), and a client that wraps
// the request URL in its own error must not put the key in the log.
func TestSyncLogRedactsErrorAsSpan(t *testing.T) {
	const secret = "SECRET123"
	jobErr := errors.New("GET https://api.themoviedb.org/3/list/1?api_key=" + secret + ": status 401")
	for _, traced := range []bool{false, true} {
		t.Run(fmt.Sprintf("traced=%v", traced), func(t *testing.T) {
			var buf syncbuf.Buffer
			logger := WithLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
			var m *Monitor
			var sr *tracetest.SpanRecorder
			if traced {
				m, sr, _ = newTracedMonitor(t, logger)
			} else {
				m, _ = newTestMonitor(t, DefaultConfig(), logger)
			}
			h := m.MonitoredSyncHandler(SyncHandlerFunc(func(context.Context, SyncJob) (SyncResult, error) {
				return SyncResult{}, jobErr
			}))
			_, _ = h.ExecuteSync(context.Background(), SyncJob{Source: "tmdb"})
			if strings.Contains(buf.String(), secret) {
				t.Errorf("the log holds the key:\n%s", buf.String())
			}
			logged, _ := syncEndRecord(t, buf.String())["err"].(string)
			if !strings.Contains(logged, "api.themoviedb.org") || !strings.Contains(logged, "status 401") {
				t.Errorf("logged error %q lost what is not secret", logged)
			}
			if !traced {
				return
			}
			var status string
			for _, s := range sr.Ended() {
				if s.Name() == "sync tmdb" {
					status = s.Status().Description
				}
			}
			if status != logged {
				t.Errorf("logged error %q, span status %q: want the same", logged, status)
			}
		})
	}
}

func TestTraceLogHandler(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(NewTraceLogHandler(slog.NewTextHandler(&buf, nil))).With("k", "v")
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	defer span.End()
	logger.InfoContext(ctx, "with span")
	logger.Info("without")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%q", lines)
	}
	want := "trace_id=" + span.SpanContext().TraceID().String() + " span_id=" + span.SpanContext().SpanID().String()
	if !strings.Contains(lines[0], want) || !strings.Contains(lines[0], "k=v") {
		t.Errorf("record with a span: %s, want %s", lines[0], want)
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("record without a span: %s", lines[1])
	}
	if NewTraceLogHandler(nil) != nil {
		t.Error("NewTraceLogHandler(nil) != nil")
	}
}

// trace_id and span_id stay at the top level of a record logged through
// WithGroup, where a log backend looks for them, while the groups and the
// attributes added around them come out as the inner handler writes them
// without NewTraceLogHandler.
func TestTraceLogHandlerGroups(t *testing.T) {
	noTime := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled})
	traced := trace.ContextWithSpanContext(context.Background(), sc)
	ids := `"trace_id":"` + sc.TraceID().String() + `","span_id":"` + sc.SpanID().String() + `"`
	for _, tc := range []struct {
		name  string
		scope func(*slog.Logger) *slog.Logger
		want  string // with a span
		plain string // without
	}{
		{"one group", func(l *slog.Logger) *slog.Logger { return l.WithGroup("req") },
			`{"level":"INFO","msg":"hello",` + ids + `,"req":{"path":"/x"}}`,
			`{"level":"INFO","msg":"hello","req":{"path":"/x"}}`},
		{"attrs around groups", func(l *slog.Logger) *slog.Logger {
			return l.With("k", "v").WithGroup("req").With("id", 7).WithGroup("hdr").With("n", 1)
		},
			`{"level":"INFO","msg":"hello","k":"v",` + ids + `,"req":{"id":7,"hdr":{"n":1,"path":"/x"}}}`,
			`{"level":"INFO","msg":"hello","k":"v","req":{"id":7,"hdr":{"n":1,"path":"/x"}}}`},
		{"empty group name", func(l *slog.Logger) *slog.Logger { return l.WithGroup("") },
			`{"level":"INFO","msg":"hello","path":"/x",` + ids + `}`,
			`{"level":"INFO","msg":"hello","path":"/x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf, ref bytes.Buffer
			logger := tc.scope(slog.New(NewTraceLogHandler(slog.NewJSONHandler(&buf, noTime))))
			logger.InfoContext(traced, "hello", "path", "/x")
			logger.Info("hello", "path", "/x")
			tc.scope(slog.New(slog.NewJSONHandler(&ref, noTime))).Info("hello", "path", "/x")
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 2 || lines[0] != tc.want || lines[1] != tc.plain || strings.TrimSpace(ref.String()) != tc.plain {
				t.Errorf("got\n%s\nwant\n%s\n%s\n(the inner handler alone: %s)", buf.String(), tc.want, tc.plain, ref.String())
			}
		})
	}
	// Two loggers derived from one scope do not share what is added to it.
	var buf bytes.Buffer
	base := slog.New(NewTraceLogHandler(slog.NewJSONHandler(&buf, noTime))).WithGroup("g").With("a", 1)
	b, c := base.With("b", 2), base.With("c", 3)
	b.InfoContext(traced, "b")
	c.InfoContext(traced, "c")
	want := `{"level":"INFO","msg":"b",` + ids + `,"g":{"a":1,"b":2}}` + "\n" + `{"level":"INFO","msg":"c",` + ids + `,"g":{"a":1,"c":3}}` + "\n"
	if buf.String() != want {
		t.Errorf("derived loggers:\n%swant\n%s", buf.String(), want)
	}
}

func TestTraceURLTemplate(t *testing.T) {
	for _, bad := range []string{"http://tempo:3200/trace/", "tempo/{traceId}", "ftp://x/{traceId}"} {
		_, err := New(DefaultConfig(), WithTraceURLTemplate(bad))
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) || ce.Field != "WithTraceURLTemplate" {
			t.Errorf("template %q: %v", bad, err)
		}
	}
	const tmpl = "http://jaeger:16686/trace/{traceId}"
	m, _ := newTestMonitor(t, DefaultConfig(), WithTraceURLTemplate(tmpl))
	b, err := json.Marshal(m.Status())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"traceUrlTemplate":"`+tmpl+`"`) {
		t.Errorf("status JSON lacks the template: %s", b)
	}
	m2, _ := newTestMonitor(t, DefaultConfig())
	b, _ = json.Marshal(m2.Status())
	if strings.Contains(string(b), "traceUrlTemplate") {
		t.Errorf("status JSON without a template: %s", b)
	}
}

// A failing sync's alert names the trace of a failed job, in the API,
// the webhook's body and the Alertmanager annotation.
func TestFailingSyncAlertNamesTrace(t *testing.T) {
	bodies := make(chan string, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- r.URL.Path + " " + string(b)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(recv.Close)
	wh, err := webhook.New(recv.URL + "/webhook")
	if err != nil {
		t.Fatal(err)
	}
	am, err := alertmanager.New(recv.URL)
	if err != nil {
		t.Fatal(err)
	}
	m, _, _ := newTracedMonitor(t, WithAPIKey(testKey), WithNotifiers(wh, am))
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var traces []string
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, _ SyncJob) (SyncResult, error) {
		traces = append(traces, trace.SpanContextFromContext(ctx).TraceID().String())
		return SyncResult{}, errors.New("list unavailable")
	}))
	for range 3 { // consecutive_sync_failures fires at 3
		_, _ = h.ExecuteSync(context.Background(), SyncJob{Source: "trakt"})
	}
	if err := m.Alerts().Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var alert alerting.Alert
	for _, a := range m.Alerts().Active() {
		if a.Rule == alerting.RuleConsecutiveSyncFailures {
			alert = a
		}
	}
	if len(alert.TraceIDs) == 0 || alert.TraceIDs[len(alert.TraceIDs)-1] != traces[2] {
		t.Fatalf("alert %+v: trace ids %v, want the third failed job's %s", alert, alert.TraceIDs, traces[2])
	}
	for _, id := range alert.TraceIDs {
		if id != traces[2] && id != traces[1] && id != traces[0] {
			t.Errorf("trace id %s is none of the failed jobs' %v", id, traces)
		}
	}

	api := httptest.NewServer(m.Handler())
	t.Cleanup(api.Close)
	r := call(t, http.MethodGet, api.URL+"/api/v3/monitoring/alerts", testKey, "")
	if r.code != 200 || !strings.Contains(r.body, `"traceIds":["`) || !strings.Contains(r.body, traces[2]) {
		t.Errorf("alerts API: %d %s", r.code, r.body)
	}
	got := map[string]string{}
	timeout := time.After(10 * time.Second)
	for len(got) < 2 {
		select {
		case b := <-bodies:
			path, body, _ := strings.Cut(b, " ")
			if strings.Contains(body, "consecutive") {
				got[path] = body
			}
		case <-timeout:
			t.Fatalf("notifications received: %v", got)
		}
	}
	if !strings.Contains(got["/webhook"], `"traceIds":["`) || !strings.Contains(got["/webhook"], traces[2]) {
		t.Errorf("webhook body: %s", got["/webhook"])
	}
	var posted []struct{ Annotations map[string]string }
	if err := json.Unmarshal([]byte(got["/api/v2/alerts"]), &posted); err != nil {
		t.Fatalf("%v: %s", err, got["/api/v2/alerts"])
	}
	if len(posted) != 1 || !strings.Contains(posted[0].Annotations["traceIds"], traces[2]) {
		t.Errorf("alertmanager annotations: %+v", posted)
	}
}

// A slow job's trace is named by the slow-sync alert.
func TestSlowSyncAlertNamesTrace(t *testing.T) {
	m, _, _ := newTracedMonitor(t)
	clk := m.clock.(interface{ Advance(time.Duration) })
	ctx := context.Background()
	if err := m.Alerts().Evaluate(ctx); err != nil { // the series' history starts
		t.Fatal(err)
	}
	var traceID string
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, _ SyncJob) (SyncResult, error) {
		traceID = trace.SpanContextFromContext(ctx).TraceID().String()
		clk.Advance(400 * time.Second) // past the 300 s threshold
		return SyncResult{ItemsFound: 1}, nil
	}))
	fast := m.MonitoredSyncHandler(SyncHandlerFunc(func(context.Context, SyncJob) (SyncResult, error) {
		return SyncResult{}, nil
	}))
	_, _ = fast.ExecuteSync(ctx, SyncJob{Source: "imdb"})
	_, _ = h.ExecuteSync(ctx, SyncJob{Source: "imdb"})
	if err := m.Alerts().Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range m.Alerts().Active() {
		if a.Rule == alerting.RuleSlowSyncOperation {
			if len(a.TraceIDs) != 1 || a.TraceIDs[0] != traceID {
				t.Fatalf("slow-sync alert traces %v, want [%s]", a.TraceIDs, traceID)
			}
			return
		}
	}
	t.Fatalf("no slow-sync alert: %+v", m.Alerts().Active())
}
