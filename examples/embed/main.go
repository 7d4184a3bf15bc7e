// Command embed is an existing OpenTelemetry-instrumented service that
// embeds an otelmon Monitor: the host of the README's "Embedding in a host
// service", whose wiring is this program's code line for line.
//
// The host, a small list-import service, owns everything OpenTelemetry: the
// MeterProvider and its Prometheus exporter, the TracerProvider (spans go
// where OTEL_TRACES_EXPORTER says: otlp, console; nowhere when it is
// unset), JSON logging through slog, and its ServeMux, instrumented with
// otelhttp. It has its own instruments (a host_imports_total counter and a
// host_import_queue_depth up-down counter) and adds one alert rule of its
// own, on its queue depth, next to otelmon's default rules.
//
// At start-up the program runs a round of list syncs through the Monitor
// under a span of its own, submits import batches to its own HTTP API until
// the queue is deeper than -queue-threshold, evaluates the rules and prints
// the alert that fires. It then serves until Ctrl-C or -duration:
//
//	GET  /healthz          the host's own health check
//	GET  /metrics          the host's and otelmon's series, one exposition
//	POST /imports?items=N  queue N more items for import
//	     /monitoring/      otelmon's status page, and its API under
//	                       /monitoring/api/v3/monitoring/... (X-Api-Key: -api-key)
//
// On the way out it shuts the Monitor down, shows that the provider, which
// the host owns, still runs, and shuts its providers down itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/exporters/push"
	"github.com/listsync/otelmon/otelmon"
)

// Names of the host's own instruments. The alert rule names its instrument
// exactly as registered: the engine reads the provider, not the exposition.
const (
	hostScope         = "example.com/importer"
	importsTotal      = "host_imports_total"
	importQueueDepth  = "host_import_queue_depth"
	customRuleName    = "custom_rule"
	defaultListenAddr = "127.0.0.1:8080"
)

// sources are the lists the host syncs through the Monitor.
var sources = []string{"imdb", "tmdb", "trakt", "plex"}

type config struct {
	listen         string
	duration       time.Duration
	apiKey         string
	queueThreshold int64
	batchSize      int64
	evalInterval   time.Duration
	syncInterval   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", defaultListenAddr, "address serving /metrics, /imports and /api/v3")
	fs.DurationVar(&c.duration, "duration", 0, "stop after this long (0: only on Ctrl-C)")
	fs.StringVar(&c.apiKey, "api-key", "", "API key for /api/v3 (generated and logged when empty)")
	fs.Int64Var(&c.queueThreshold, "queue-threshold", 100, "custom_rule fires when host_import_queue_depth is above this")
	fs.Int64Var(&c.batchSize, "batch-size", 50, "items in each import batch submitted at start-up")
	fs.DurationVar(&c.evalInterval, "eval-interval", 15*time.Second, "interval between alert evaluations")
	fs.DurationVar(&c.syncInterval, "sync-interval", 10*time.Second, "interval between rounds of list syncs")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	case c.duration < 0:
		return c, fmt.Errorf("-duration %v: must not be negative", c.duration)
	case c.queueThreshold < 0:
		return c, fmt.Errorf("-queue-threshold %d: must not be negative", c.queueThreshold)
	case c.batchSize < 1:
		return c, fmt.Errorf("-batch-size %d: must be at least 1", c.batchSize)
	case c.evalInterval < 10*time.Millisecond:
		return c, fmt.Errorf("-eval-interval %v: must be at least 10ms", c.evalInterval)
	case c.syncInterval < 10*time.Millisecond:
		return c, fmt.Errorf("-sync-interval %v: must be at least 10ms", c.syncInterval)
	}
	return c, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

// host is the service that embeds the Monitor. It owns mp, tp and prom;
// the Monitor only records and traces on them.
type host struct {
	mp   *sdkmetric.MeterProvider
	tp   *sdktrace.TracerProvider
	prom *exporters.Prometheus
	mon  *otelmon.Monitor
	mux  *http.ServeMux
	jobs otelmon.SyncHandler // the host's sync job, run through the Monitor

	imports metric.Int64Counter
	queue   metric.Int64UpDownCounter
}

// newHost builds the host's telemetry, its own instruments and routes, and
// the Monitor embedded in them. tpOpts are added to the host's
// TracerProvider (tests pass a span recorder). Nothing is started.
func newHost(ctx context.Context, c config, logger *slog.Logger, tpOpts ...sdktrace.TracerProviderOption) (*host, error) {
	res, err := exporters.Resource(ctx, "importer", "")
	if err != nil {
		return nil, err
	}
	prom, err := exporters.NewPrometheus()
	if err != nil {
		return nil, err
	}
	tp, err := newTracerProvider(ctx, res, tpOpts...)
	if err != nil {
		return nil, err
	}
	h, err := embed(c, res, prom, tp, logger)
	if err != nil {
		return nil, errors.Join(err, tp.Shutdown(ctx))
	}
	h.tp, h.prom = tp, prom
	meter := h.mp.Meter(hostScope)
	if h.imports, err = meter.Int64Counter(importsTotal,
		metric.WithDescription("Import batches accepted by the host.")); err == nil {
		h.queue, err = meter.Int64UpDownCounter(importQueueDepth,
			metric.WithDescription("Items waiting in the host's import queue."))
	}
	if err != nil {
		return nil, errors.Join(err, h.mon.Shutdown(ctx), h.mp.Shutdown(ctx), tp.Shutdown(ctx))
	}
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	h.mux.Handle("GET /metrics", prom.Handler())
	h.mux.HandleFunc("POST /imports", h.serveImports)
	h.jobs = h.mon.MonitoredSyncHandler(otelmon.SyncHandlerFunc(fetchList))
	return h, nil
}

// embed is the host's whole wiring of otelmon: the README shows it as it
// is (see TestReadmeSnippetIsEmbedWiring). The host's MeterProvider gets
// the Embedding's reader and Views with its own resource and exporter; the
// Monitor records and traces on the host's providers, logs through its
// logger, evaluates one rule of the host's, and serves its page and API
// under /monitoring/ of the host's mux.
func embed(c config, res *resource.Resource, prom *exporters.Prometheus, tp trace.TracerProvider, logger *slog.Logger) (*host, error) {
	// otelmon wiring: begin
	cfg := otelmon.DefaultConfig()
	cfg.AlertEvaluationInterval = c.evalInterval
	emb := otelmon.NewEmbedding()
	mp := sdkmetric.NewMeterProvider(append(emb.ProviderOptions(),
		sdkmetric.WithResource(res), sdkmetric.WithReader(prom.Reader()))...)
	mon, err := otelmon.New(cfg,
		otelmon.WithMeterProvider(mp), otelmon.WithEmbedding(emb), otelmon.WithPrometheus(prom),
		otelmon.WithTracerProvider(tp), otelmon.WithLogger(logger), otelmon.WithAPIKey(c.apiKey))
	if err != nil {
		return nil, errors.Join(err, mp.Shutdown(context.Background()))
	}
	if err := mon.Alerts().AddRule(queueRule(c.queueThreshold)); err != nil {
		return nil, errors.Join(err, mon.Shutdown(context.Background()), mp.Shutdown(context.Background()))
	}
	mux := http.NewServeMux()
	mux.Handle("/monitoring/", http.StripPrefix("/monitoring", mon.Handler()))
	// otelmon wiring: end
	return &host{mp: mp, mon: mon, mux: mux}, nil
}

// newTracerProvider is the host's TracerProvider: its spans go to the
// exporter OTEL_TRACES_EXPORTER names (otlp, console), and nowhere when it
// is unset or "none".
func newTracerProvider(ctx context.Context, res *resource.Resource, opts ...sdktrace.TracerProviderOption) (*sdktrace.TracerProvider, error) {
	opts = append([]sdktrace.TracerProviderOption{sdktrace.WithResource(res)}, opts...)
	if exporters.TracesWanted() {
		exp, err := push.SpanExporter(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}

// queueRule is the host's custom rule: its import queue is deeper than
// threshold.
func queueRule(threshold int64) alerting.Rule {
	return alerting.Rule{
		Name:        customRuleName,
		Level:       alerting.Warning,
		Description: "The import queue is backing up: imports arrive faster than the host processes them.",
		Labels:      map[string]string{"component": "custom"},
		Condition:   alerting.Threshold{Instrument: importQueueDepth, Op: alerting.OpGreater, Value: float64(threshold)},
		RateLimit:   30 * time.Minute,
	}
}

// handler is the host's HTTP server: its routes and the Monitor's under
// /monitoring/, instrumented by the host with otelhttp on its own
// providers.
func (h *host) handler() http.Handler {
	return otelhttp.NewHandler(h.mux, "importer", otelhttp.WithMeterProvider(h.mp), otelhttp.WithTracerProvider(h.tp))
}

// serveImports queues ?items=N items.
func (h *host) serveImports(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("items"), 10, 64)
	if err != nil || n < 1 || n > 1_000_000 {
		http.Error(w, "items: want a number from 1 to 1000000", http.StatusBadRequest)
		return
	}
	h.imports.Add(r.Context(), 1)
	h.queue.Add(r.Context(), n)
	w.WriteHeader(http.StatusAccepted)
}

// lists is what each source's list holds when the host's sync job fetches
// it.
var lists = map[string]otelmon.SyncResult{
	"imdb":  {ItemsFound: 20, ItemsAdded: 0, ItemsUpdated: 1},
	"tmdb":  {ItemsFound: 25, ItemsAdded: 1, ItemsUpdated: 1},
	"trakt": {ItemsFound: 30, ItemsAdded: 2, ItemsUpdated: 1},
	"plex":  {ItemsFound: 35, ItemsAdded: 3, ItemsUpdated: 1},
}

// fetchList is the host's sync job: it fetches one source's list. (A real
// job would call the list's API with job.HTTPClient(job.Source).)
func fetchList(_ context.Context, job otelmon.SyncJob) (otelmon.SyncResult, error) {
	r, ok := lists[job.Source]
	if !ok {
		return otelmon.SyncResult{}, fmt.Errorf("no list %q", job.Source)
	}
	return r, nil
}

// syncRound runs the host's sync job for every source through the Monitor,
// under a span of the host's: each job's span ("sync <source>") is its
// child.
func (h *host) syncRound(ctx context.Context) error {
	ctx, span := h.tp.Tracer(hostScope).Start(ctx, "sync round")
	defer span.End()
	var errs []error
	for _, src := range sources {
		if _, err := h.jobs.ExecuteSync(ctx, otelmon.SyncJob{Source: src}); err != nil {
			errs = append(errs, err)
		}
		h.mon.RecordCacheHit(ctx, "movie_cache")
	}
	return errors.Join(errs...)
}

// run runs the host until ctx is done or -duration has passed. When ready
// is not nil it receives the address served on, once the start-up scenario
// has run.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) (err error) {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	h, err := newHost(ctx, c, logger)
	if err != nil {
		return err
	}
	// Deferred calls run last first: the server stops taking requests
	// before the Monitor and the provider go.
	defer func() { err = errors.Join(err, h.shutdown(stdout)) }()
	if err := h.mon.Start(ctx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h.handler(), ReadHeaderTimeout: 5 * time.Second}
	var serveErr error
	served := make(chan struct{})
	go func() {
		defer close(served)
		serveErr = srv.Serve(ln)
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = errors.Join(err, srv.Shutdown(sctx))
		<-served
		if !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("serve: %w", serveErr))
		}
	}()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "serving %s/healthz, %s/metrics and otelmon under %s/monitoring/ (API: %s/monitoring/api/v3/monitoring/alerts)\n",
		base, base, base, base)

	// Start-up scenario: syncs run through the Monitor, and clients filling
	// the host's queue past the threshold through its own API.
	if err := h.syncRound(ctx); err != nil {
		return err
	}
	if err := submitImports(ctx, base, c.batchSize, c.queueThreshold/c.batchSize+1); err != nil {
		return err
	}
	// Start evaluates every -eval-interval; evaluate now rather than wait.
	if err := h.mon.Alerts().Evaluate(ctx); err != nil {
		return fmt.Errorf("evaluate alerts: %w", err)
	}
	for _, a := range h.mon.Alerts().Alerts(alerting.Filter{Rule: customRuleName}) {
		fmt.Fprintf(stdout, "alert %s %s %s: %s\n", a.Rule, a.Level, a.State, a.Title)
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}

	ticker := time.NewTicker(c.syncInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-served:
			return nil // the deferred call reports why
		case <-ticker.C:
			if err := h.syncRound(ctx); err != nil {
				logger.Error("sync round", "err", otelmon.RedactError(err))
			}
		}
	}
}

// shutdown shuts the Monitor down, which unregisters its instruments and
// leaves the providers alone, shows that the host's provider still records
// and exports, then shuts the providers down: the host owns them.
func (h *host) shutdown(stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	monErr := h.mon.Shutdown(ctx)

	h.imports.Add(ctx, 1)
	text, err := h.prom.Text(ctx)
	if err == nil && !strings.Contains(text, importsTotal+" ") {
		err = fmt.Errorf("%s missing from the exposition after Monitor.Shutdown", importsTotal)
	}
	if err == nil {
		fmt.Fprintln(stdout, "monitor shut down; the host's provider still exports", importsTotal)
	}
	mpErr := h.mp.Shutdown(ctx)
	if mpErr == nil {
		fmt.Fprintln(stdout, "host provider shut down")
	}
	return errors.Join(monErr, err, mpErr, h.tp.Shutdown(ctx))
}

// submitImports posts batches import batches of size items each to the
// host's own API, as its clients would.
func submitImports(ctx context.Context, base string, size, batches int64) error {
	client := &http.Client{Timeout: 5 * time.Second}
	u := base + "/imports?" + url.Values{"items": {strconv.FormatInt(size, 10)}}.Encode()
	for range batches {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("submit imports: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("submit imports: %s", resp.Status)
		}
	}
	return nil
}
