// Command listsync is otelmon's demo: a monitored list-sync service.
//
// It starts simulated IMDb, TMDb, Trakt and Plex upstreams on loopback,
// syncs a list from each on an interval through a metadata cache, records
// every operation through an otelmon Monitor, and serves the metrics on
// 127.0.0.1:7878. Flags inject faults into the upstreams:
//
//	go run ./examples/listsync -fail imdb -fail-for 2m -sync-interval 5s
//
// The API key comes from -api-key or $LISTSYNC_API_KEY; without either, the
// demo generates one and prints it (a key it was given is never printed).
// Silences and acknowledgements are kept in the file -state names, by
// default under the user's state directory, so that they survive a
// restart; -state "" keeps nothing.
// It serves through otelmon's Monitor.Server, with its timeouts and limits.
// Ctrl-C stops it cleanly.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/alertmanager"
	"github.com/listsync/otelmon/alerting/webhook"
	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/exporters/push"
	"github.com/listsync/otelmon/otelmon"
)

// services are the simulated upstreams, in the order they are started.
var services = []string{"imdb", "tmdb", "trakt", "plex"}

// apiKeyEnv names the environment variable that gives the API key when
// -api-key is not set; it keeps the key out of the process list.
const apiKeyEnv = "LISTSYNC_API_KEY"

// serviceName is the demo's service.name: the job of its series and of the
// alerts it sends to Alertmanager (OTEL_SERVICE_NAME overrides both).
const serviceName = "listsync-demo"

type config struct {
	listen             string
	apiKey             string
	syncInterval       time.Duration
	healthInterval     time.Duration
	evalInterval       time.Duration
	fail               []string
	failFor            time.Duration
	rateLimit          []string
	slow               []string
	flaky              []string
	flakyRatio         float64
	breakerOpenTimeout time.Duration
	alertmanagerURLs   []string
	alertmanagerResend time.Duration // 0: the notifier's default
	webhookURL         string        // empty: no webhook
	traceURL           string
	statePath          string // empty: keep nothing
	defaultState       bool   // statePath is the default, whose directory the demo makes
	customRule         string
}

// stateDirName is the demo's directory in the user's state directory.
const stateDirName = "otelmon-listsync"

// defaultStatePath returns the file the demo keeps its alert state in when
// -state is not given: alerts.json in an otelmon-listsync directory of the
// user's state directory, $XDG_STATE_HOME, or ~/.local/state when that is
// unset (or not absolute, which the XDG base directory specification says
// to ignore). It returns "" when neither is known: the demo then keeps
// nothing. getenv and home are os.Getenv and os.UserHomeDir but in tests.
func defaultStatePath(getenv func(string) string, home func() (string, error)) string {
	dir := getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(dir) {
		h, err := home()
		if err != nil || !filepath.IsAbs(h) {
			return ""
		}
		dir = filepath.Join(h, ".local", "state")
	}
	return filepath.Join(dir, stateDirName, "alerts.json")
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	var fail, rateLimit, slow, flaky, alertmanagers string
	defaultState := defaultStatePath(os.Getenv, os.UserHomeDir)
	fs := flag.NewFlagSet("listsync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:7878", "address to serve metrics, API and status page on")
	fs.StringVar(&c.apiKey, "api-key", "", "API key for /api/v3 (default $"+apiKeyEnv+"; generated and printed when both are empty)")
	fs.DurationVar(&c.syncInterval, "sync-interval", 10*time.Second, "interval between syncs of each list")
	fs.DurationVar(&c.healthInterval, "health-interval", 15*time.Second, "interval between health checks")
	fs.DurationVar(&c.evalInterval, "eval-interval", 5*time.Second, "interval between alert evaluations")
	fs.StringVar(&fail, "fail", "", "comma-separated upstreams that are down: 500 for every request, health probes included (imdb,tmdb,trakt,plex)")
	fs.DurationVar(&c.failFor, "fail-for", 0, "the -fail upstreams heal after this long (0: never)")
	fs.StringVar(&rateLimit, "rate-limit", "", "comma-separated upstreams that enforce a tight rate limit (tmdb 4 req/s, trakt 20 GETs per 10 s): 429 with Retry-After beyond it")
	fs.StringVar(&slow, "slow", "", "comma-separated upstreams that answer slowly")
	fs.StringVar(&flaky, "flaky", "", "comma-separated upstreams that fail a share of their syncs (-flaky-ratio), never two in a row: their health probes pass and their breakers stay closed")
	fs.Float64Var(&c.flakyRatio, "flaky-ratio", 0.5, "share of a -flaky upstream's syncs that fail, above 0 and at most 0.5 (0.5: every other sync)")
	fs.DurationVar(&c.breakerOpenTimeout, "breaker-open-timeout", 0, "override every breaker's open timeout (0: per-service defaults)")
	fs.StringVar(&alertmanagers, "alertmanager", "", "also send alerts to the Alertmanager at this base URL (e.g. http://127.0.0.1:9093); comma-separated, to every member of a cluster, as Prometheus does")
	fs.DurationVar(&c.alertmanagerResend, "alertmanager-resend", 0, "send firing alerts to the Alertmanagers again at this interval (0: every minute, as Prometheus)")
	fs.StringVar(&c.webhookURL, "webhook", "", "also send alerts to this URL as otelmon's webhook JSON (package alerting/webhook); with -alertmanager, the cluster's silences mute it")
	fs.StringVar(&c.traceURL, "trace-url", "", "link alerts' trace ids to this URL, {traceId} standing for the id (e.g. http://127.0.0.1:16686/trace/{traceId})")
	fs.StringVar(&c.statePath, "state", defaultState, "file to keep silences and acknowledgements in across restarts (\"\": keep nothing; default under $XDG_STATE_HOME, else ~/.local/state)")
	fs.StringVar(&c.customRule, "custom-rule", "", "add a custom warning rule of this name, as a host adds its own: it fires while a source's syncs keep failing")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.defaultState = c.statePath != "" && c.statePath == defaultState
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.apiKey == "" {
		c.apiKey = os.Getenv(apiKeyEnv) // not the flag's default: -help would print it
	}
	for _, u := range strings.Split(alertmanagers, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.alertmanagerURLs = append(c.alertmanagerURLs, u)
		}
	}
	var err error
	if c.fail, err = serviceList("fail", fail); err != nil {
		return c, err
	}
	if c.rateLimit, err = serviceList("rate-limit", rateLimit); err != nil {
		return c, err
	}
	if c.slow, err = serviceList("slow", slow); err != nil {
		return c, err
	}
	if c.flaky, err = serviceList("flaky", flaky); err != nil {
		return c, err
	}
	if !(c.flakyRatio > 0 && c.flakyRatio <= 0.5) {
		return c, fmt.Errorf("-flaky-ratio %v: must be above 0 and at most 0.5 (a larger share would fail two syncs in a row)", c.flakyRatio)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{
		{"sync-interval", c.syncInterval, 10 * time.Millisecond},
		{"health-interval", c.healthInterval, 10 * time.Millisecond},
		{"eval-interval", c.evalInterval, 10 * time.Millisecond},
		{"fail-for", c.failFor, 0},
		{"breaker-open-timeout", c.breakerOpenTimeout, 0},
		{"alertmanager-resend", c.alertmanagerResend, 0},
	} {
		if d.v < d.min {
			return c, fmt.Errorf("-%s %v: must be at least %v", d.name, d.v, d.min)
		}
	}
	return c, nil
}

func serviceList(flagName, v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		if !slices.Contains(services, s) {
			return nil, fmt.Errorf("-%s: unknown service %q (want some of %s)", flagName, s, strings.Join(services, ","))
		}
		out = append(out, s)
	}
	return out, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "listsync:", err)
		os.Exit(1)
	}
}

// run runs the demo until ctx is done. When ready is not nil it receives
// the address the demo serves on, once it is listening.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	// Records logged with a sync's context carry its trace_id and span_id.
	logger := slog.New(otelmon.NewTraceLogHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))

	upstreams, err := startUpstreams(cfg)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, u := range upstreams {
			_ = u.close(sctx)
		}
	}()

	// Listen first: the alerts' links point at the address actually served.
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close() // after Serve, a no-op
	baseURL := "http://" + reachable(ln.Addr()) + "/"

	mcfg := otelmon.DefaultConfig()
	mcfg.AlertEvaluationInterval = cfg.evalInterval
	mcfg.HealthChecks.CheckInterval = cfg.healthInterval
	mcfg.HealthChecks.RequestTimeout = min(cfg.healthInterval, 5*time.Second)
	healthURLs := map[string]string{}
	for name, u := range upstreams {
		healthURLs[name] = u.healthURL()
	}
	// A key given by the operator is theirs and is never printed; one the
	// demo makes up is printed once below, so that someone can use it.
	apiKey, generated := cfg.apiKey, false
	if apiKey == "" {
		if apiKey, err = newAPIKey(); err != nil {
			return err
		}
		generated = true
	}
	if cfg.defaultState {
		// The user's state directory may not exist yet; what the demo keeps
		// there is for this user alone.
		if err := os.MkdirAll(filepath.Dir(cfg.statePath), 0o700); err != nil {
			return fmt.Errorf("alert state directory: %w", err)
		}
	}
	mopts := []otelmon.Option{
		otelmon.WithLogger(logger),
		otelmon.WithAlertStatePath(cfg.statePath),
		otelmon.WithHealthCheckURLs(healthURLs),
		otelmon.WithServiceName(serviceName, otelmon.Version),
		otelmon.WithAPIKey(apiKey),
		otelmon.WithNotifiers(alerting.NewLogNotifier(logger)),
	}
	for i, u := range cfg.alertmanagerURLs {
		name := "alertmanager" // one notifier per member: names must differ
		if i > 0 {
			name = fmt.Sprintf("alertmanager-%d", i+1)
		}
		// The Monitor's service name, so that the alerts' job is its series'.
		am, err := alertmanager.New(u, alertmanager.WithGeneratorURL(baseURL), alertmanager.WithName(name),
			alertmanager.WithServiceName(serviceName), alertmanager.WithResendInterval(cfg.alertmanagerResend))
		if err != nil {
			return err
		}
		mopts = append(mopts, otelmon.WithNotifiers(am))
	}
	if cfg.webhookURL != "" {
		wh, err := webhook.New(cfg.webhookURL)
		if err != nil {
			return fmt.Errorf("-webhook: %w", err)
		}
		mopts = append(mopts, otelmon.WithNotifiers(wh))
	}
	if cfg.breakerOpenTimeout > 0 {
		mopts = append(mopts, otelmon.WithBreakerOptions(breaker.WithOpenTimeoutOverride(cfg.breakerOpenTimeout)))
	}
	if cfg.traceURL != "" {
		mopts = append(mopts, otelmon.WithTraceURLTemplate(cfg.traceURL))
	}
	// The demo links the push exporters, so OTEL_METRICS_EXPORTER=otlp or
	// console switches it from Prometheus, and OTEL_TRACES_EXPORTER=otlp or
	// console makes it trace its syncs.
	mopts = append(mopts, otelmon.WithPushExporters(push.Reader), otelmon.WithSpanExporters(push.SpanExporter))
	mon, err := otelmon.New(mcfg, mopts...)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := mon.Shutdown(sctx); err != nil {
			logger.Error("monitor shutdown", "err", err)
		}
	}()
	if cfg.customRule != "" {
		if err := mon.Alerts().AddRule(customRule(cfg.customRule, mcfg.Metrics)); err != nil {
			return fmt.Errorf("-custom-rule: %w", err)
		}
	}
	if err := mon.SetupDefaultHealthCheckers(ctx); err != nil {
		return err
	}
	if err := mon.Start(ctx); err != nil {
		return err
	}

	srv := mon.Server(ln.Addr().String())
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()

	addr := reachable(ln.Addr())
	fmt.Fprintf(stdout, "listsync demo: serving on http://%s\n", addr)
	fmt.Fprintf(stdout, "  status page: http://%s/\n", addr)
	if _, err := mon.PrometheusMetrics(ctx); !errors.Is(err, otelmon.ErrNoPrometheus) {
		fmt.Fprintf(stdout, "  metrics:     http://%s/metrics\n", addr)
	} else {
		fmt.Fprintf(stdout, "  metrics:     pushed (%s=%s); /metrics is not served\n", exporters.EnvMetricsExporter, os.Getenv(exporters.EnvMetricsExporter))
	}
	fmt.Fprintf(stdout, "  API:         http://%s/api/v3/monitoring/status (header X-Api-Key)\n", addr)
	if generated {
		fmt.Fprintf(stdout, "  API key:     %s (generated; set -api-key or $%s to choose one)\n", apiKey, apiKeyEnv)
	}
	if cfg.statePath != "" {
		fmt.Fprintf(stdout, "  alert state: %s (silences and acknowledgements survive a restart; -state \"\" keeps none)\n", cfg.statePath)
	} else {
		fmt.Fprintln(stdout, "  alert state: not kept (set -state to keep silences and acknowledgements across restarts)")
	}
	for _, name := range services {
		fmt.Fprintf(stdout, "  upstream %-6s %s\n", name, upstreams[name].URL())
	}
	fmt.Fprintln(stdout, "Ctrl-C to stop.")
	if ready != nil {
		ready <- addr
	}

	syncCtx, stopSyncs := context.WithCancel(ctx)
	defer stopSyncs()
	cache := newMetadataCache(200)
	lib := newLibrary()
	var wg sync.WaitGroup
	for _, name := range services {
		s := &syncer{
			source:  name,
			baseURL: upstreams[name].URL(),
			monitor: mon,
			cache:   cache,
			library: lib,
		}
		job := otelmon.SyncJob{Source: name}
		h := mon.MonitoredSyncHandler(s) // breaker + metrics in one line
		wg.Add(1)
		go func() {
			defer wg.Done()
			syncLoop(syncCtx, h, job, cfg.syncInterval, logger)
		}()
	}

	select {
	case <-ctx.Done():
	case err = <-srvErr:
	}
	stopSyncs() // the server may have failed while ctx still runs
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	wg.Wait()
	fmt.Fprintln(stdout, "listsync demo: stopped")
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return shutdownErr
}

func startUpstreams(cfg config) (map[string]*upstream, error) {
	out := map[string]*upstream{}
	var failUntil time.Time
	if cfg.failFor > 0 {
		failUntil = time.Now().Add(cfg.failFor)
	}
	for i, name := range services {
		f := fault{
			fail:      slices.Contains(cfg.fail, name),
			failUntil: failUntil,
			rateLimit: slices.Contains(cfg.rateLimit, name),
		}
		if slices.Contains(cfg.slow, name) {
			f.slow = 2 * time.Second
		}
		if slices.Contains(cfg.flaky, name) {
			f.flaky = cfg.flakyRatio
		}
		u, err := startUpstream(name, i+1, f)
		if err != nil {
			for _, started := range out {
				_ = started.close(context.Background())
			}
			return nil, err
		}
		out[name] = u
	}
	return out, nil
}

// customRule is the rule -custom-rule adds: a warning while a source has
// failed its last syncs, read from the Monitor's consecutive_failures
// gauge under the configured metric names.
func customRule(name string, mc otelmon.MetricsConfig) alerting.Rule {
	return alerting.Rule{
		Name:        name,
		Level:       alerting.Warning,
		Description: "A custom rule added by the demo's -custom-rule: a source's last syncs failed.",
		Labels:      map[string]string{"component": "custom"},
		Condition: alerting.Threshold{
			// The full name, empty parts left out as the Monitor does.
			Instrument: strings.Join(slices.DeleteFunc([]string{mc.Namespace, mc.Subsystem, "consecutive_failures"},
				func(s string) bool { return s == "" }), "_"),
			Op: alerting.OpGreater,
		},
	}
}

// newAPIKey returns 32 random hex digits.
func newAPIKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate API key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// reachable returns addr as a host:port that a browser can open: an
// unspecified listen address (":7878", "0.0.0.0:7878") becomes loopback.
func reachable(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
}

// syncLoop runs job at once and then every interval until ctx is done.
func syncLoop(ctx context.Context, h otelmon.SyncHandler, job otelmon.SyncJob, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := h.ExecuteSync(ctx, job); err != nil && ctx.Err() == nil {
			logger.Warn("sync failed", "source", job.Source, "err", otelmon.RedactError(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
