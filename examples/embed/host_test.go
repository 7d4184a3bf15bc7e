package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// The Monitor traces on the host's TracerProvider: each sync job's span is
// a child of the host's own span around the round, and the host's server
// spans are the host's. Nothing is set globally.
func TestSpansOnTheHostsProvider(t *testing.T) {
	ctx := context.Background()
	globalMP, globalTP := otel.GetMeterProvider(), otel.GetTracerProvider()
	c, err := parseFlags([]string{"-api-key", testKey}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sr := tracetest.NewSpanRecorder()
	h, err := newHost(ctx, c, slog.New(slog.DiscardHandler), sdktrace.WithSpanProcessor(sr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.shutdown(io.Discard) })
	if err := h.syncRound(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.handler())
	t.Cleanup(srv.Close)
	if code, _ := get(t, srv.URL+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("/healthz: %d", code)
	}

	spans := sr.Ended()
	var round sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == "sync round" {
			round = s
		}
	}
	if round == nil {
		t.Fatalf("no host span %q among %d spans", "sync round", len(spans))
	}
	jobs := map[string]bool{}
	server := false
	for _, s := range spans {
		switch {
		case strings.HasPrefix(s.Name(), "sync ") && s != round:
			if s.Parent().SpanID() != round.SpanContext().SpanID() || s.SpanContext().TraceID() != round.SpanContext().TraceID() {
				t.Errorf("span %q is not a child of the host's %q", s.Name(), round.Name())
			}
			jobs[s.Name()] = true
		case s.Name() == "importer" || strings.HasPrefix(s.Name(), "GET"):
			server = true
		}
	}
	for _, src := range sources {
		if !jobs["sync "+src] {
			t.Errorf("no span for the job of %s; spans: %d", src, len(spans))
		}
	}
	if !server {
		t.Error("the host's otelhttp server made no span for GET /healthz")
	}
	if otel.GetMeterProvider() != globalMP || otel.GetTracerProvider() != globalTP {
		t.Error("the host's wiring set an OpenTelemetry global")
	}
}

// The README's embedding snippet is examples/embed's wiring, line for
// line, and the README states its length.
func TestReadmeSnippetIsEmbedWiring(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\n\t// otelmon wiring: begin\n(.*?)\t// otelmon wiring: end\n`).FindSubmatch(src)
	if m == nil {
		t.Fatal("main.go has no otelmon wiring block")
	}
	var wiring []string
	for _, l := range strings.Split(strings.TrimSuffix(string(m[1]), "\n"), "\n") {
		wiring = append(wiring, strings.TrimPrefix(l, "\t"))
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	r := regexp.MustCompile("(?s)<!-- embed wiring: examples/embed/main.go -->\n```go\n(.*?)```\n").FindSubmatch(readme)
	if r == nil {
		t.Fatal("README.md has no embed wiring block")
	}
	snippet := strings.Split(strings.TrimSuffix(string(r[1]), "\n"), "\n")
	if strings.Join(snippet, "\n") != strings.Join(wiring, "\n") {
		t.Errorf("README snippet and examples/embed differ:\nREADME:\n%s\n\nmain.go:\n%s", strings.Join(snippet, "\n"), strings.Join(wiring, "\n"))
	}
	n := regexp.MustCompile(`the whole wiring is (\d+) lines`).FindSubmatch(readme)
	if n == nil {
		t.Fatal(`README.md does not say "the whole wiring is N lines"`)
	}
	if got, _ := strconv.Atoi(string(n[1])); got != len(wiring) {
		t.Errorf("README says %d lines, the wiring has %d", got, len(wiring))
	}
	if len(wiring) > 25 {
		t.Errorf("a host needs %d lines, more than 25", len(wiring))
	}
	if !strings.Contains(string(readme), `"github.com/listsync/otelmon/otelmon"`) {
		t.Error("README.md never names the import path github.com/listsync/otelmon/otelmon")
	}
}
