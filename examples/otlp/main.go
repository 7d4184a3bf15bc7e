// Command otlp shows that the exporter of an otelmon Monitor is chosen by the
// environment, not by code. It records simulated syncs of IMDb, TMDb, Trakt
// and Plex lists through a Monitor built with otelmon.New and
// otelmon.DefaultConfig, prints which exporter is active, and stops after
// -duration or on Ctrl-C, shutting the Monitor down so the exporter flushes.
//
// The standard OpenTelemetry variables select the exporter:
//
//   - OTEL_METRICS_EXPORTER: unset or "prometheus" serves the exposition on
//     -listen at /metrics; "otlp" pushes over OTLP; "console" prints JSON to
//     standard output; "none" drops everything.
//   - OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" (the default) or "grpc".
//   - OTEL_EXPORTER_OTLP_ENDPOINT: the collector, by default
//     http://localhost:4318 for http/protobuf and http://localhost:4317 for
//     grpc. An http:// endpoint means no TLS.
//   - OTEL_METRIC_EXPORT_INTERVAL: milliseconds between pushes, 60000 by
//     default.
//   - OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES: the resource.
//
// For example, to push to a collector listening for OTLP/gRPC:
//
//	OTEL_METRICS_EXPORTER=otlp OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 OTEL_METRIC_EXPORT_INTERVAL=5000 \
//	go run ./examples/otlp
//
// The metric names are the same whichever exporter is active, e.g.
// radarr_list_sync_sync_operations_total.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/exporters/push"
	"github.com/listsync/otelmon/otelmon"
)

// sources are the simulated lists.
var sources = []string{"imdb", "tmdb", "trakt", "plex"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "otlp:", err)
		os.Exit(1)
	}
}

// run records syncs until ctx is done or -duration has passed. It writes
// its own messages to out; the console exporter writes to standard output.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("otlp", flag.ContinueOnError)
	fs.SetOutput(out)
	duration := fs.Duration("duration", 2*time.Minute, "stop after this long (0: only on Ctrl-C)")
	interval := fs.Duration("interval", 2*time.Second, "interval between rounds of syncs")
	listen := fs.String("listen", "127.0.0.1:9464", "address serving /metrics when the exporter is Prometheus")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *interval <= 0 {
		return fmt.Errorf("-interval %v: must be positive", *interval)
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}

	// Nothing here names an exporter: otelmon.New builds the one the
	// environment selects.
	mon, err := otelmon.New(otelmon.DefaultConfig(), otelmon.WithServiceName("otlp-example", otelmon.Version),
		otelmon.WithPushExporters(push.Reader))
	if err != nil {
		return err
	}
	defer func() {
		// Shutdown flushes: a push exporter sends what is pending.
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := mon.Shutdown(sctx); err != nil {
			fmt.Fprintln(out, "otlp: shutdown:", err)
		}
	}()
	prometheus := servesPrometheus(ctx, mon)
	fmt.Fprintln(out, "exporter:", describeExporter(prometheus))

	if prometheus {
		stopServer, err := serve(*listen, mon.MetricsHandler())
		if err != nil {
			return err
		}
		defer stopServer()
		fmt.Fprintf(out, "metrics: http://%s/metrics\n", *listen)
	}

	ticker := time.NewTicker(*interval)
	defer ticker.Stop()
	rounds := 0
	for {
		syncRound(ctx, mon)
		rounds++
		select {
		case <-ctx.Done():
			fmt.Fprintf(out, "recorded %d rounds of syncs; shutting down\n", rounds)
			return nil
		case <-ticker.C:
		}
	}
}

// syncRound records one simulated sync of every source, and the cache
// lookups of the items it found.
func syncRound(ctx context.Context, mon *otelmon.Monitor) {
	for _, src := range sources {
		d := time.Duration(250+rand.IntN(4000)) * time.Millisecond
		ok := rand.IntN(10) != 0 // one sync in ten fails
		var added, updated, found uint64
		if ok {
			found = uint64(20 + rand.IntN(30))
			added = uint64(rand.IntN(3))
			updated = uint64(rand.IntN(5))
		}
		mon.RecordSyncOperation(ctx, src, ok, d, added, updated, found)
		for range found {
			if rand.IntN(4) != 0 {
				mon.RecordCacheHit(ctx, "movie_cache")
			} else {
				mon.RecordCacheMiss(ctx, "movie_cache")
			}
		}
	}
}

// servesPrometheus reports whether mon exports through Prometheus, so that
// its MetricsHandler serves the exposition rather than a 404.
func servesPrometheus(ctx context.Context, mon *otelmon.Monitor) bool {
	_, err := mon.PrometheusMetrics(ctx)
	return !errors.Is(err, otelmon.ErrNoPrometheus)
}

// describeExporter says which exporter the Monitor pushes or serves
// through, and where, from the variables the exporter reads.
func describeExporter(prometheus bool) string {
	if prometheus {
		return exporters.KindPrometheus
	}
	kind := os.Getenv(exporters.EnvMetricsExporter)
	if kind != exporters.KindOTLP {
		return kind
	}
	proto := firstSet("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	if proto == "" {
		proto = "http/protobuf"
	}
	endpoint := firstSet("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
	switch {
	case endpoint != "":
	case proto == "grpc":
		endpoint = "http://localhost:4317"
	default:
		endpoint = "http://localhost:4318"
	}
	interval := "60000"
	if v := os.Getenv("OTEL_METRIC_EXPORT_INTERVAL"); v != "" {
		interval = v
	}
	return fmt.Sprintf("otlp (protocol %s, endpoint %s, every %s ms)", proto, endpoint, interval)
}

// firstSet returns the value of the first of keys that is set and not empty.
func firstSet(keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// serve serves h at /metrics on addr until the returned function is called;
// that function returns once the server has stopped.
func serve(addr string, h http.Handler) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
