package clientstack

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/listsync/otelmon/internal/pacer"
)

// Retry budget: retries may add at most retryRatio of the requests sent
// over retryWindow, plus retryFloor, as Finagle's RetryBudget (20 % and 10
// per second) and gRPC's retry throttling (10 %) do.
const (
	retryRatio  = 0.1
	retryFloor  = 10
	retryWindow = 10 * time.Second
)

// client is what every client of one service shares in the process: its
// limits, its pacer and its retry budget. It belongs to the service's
// name, not to its metric label: services past the label's cardinality
// limit share the label labels.Overflow, never a pacer.
type client struct {
	name   string
	series *Series // the service's metric series
	limits Limits
	pacer  *pacer.Pacer
	budget *pacer.RetryBudget
}

// clients holds each service's client, made on first use and kept for the
// stack's life, in first-use order. Like the breakers, at most max are
// kept: a service beyond them gets a client of its own per transport, so
// it is still paced and retried, but not across its transports, and
// memory stays bounded whatever names a host uses.
type clients struct {
	mu     sync.Mutex
	byName map[string]*client
	order  []*client
	max    int
}

// client returns service's shared client state.
func (s *Stack) client(service string) *client {
	cs := &s.clients
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.byName[service]; ok {
		return c
	}
	l := s.cfg.LimitsFor(service)
	c := &client{
		name:   service,
		series: s.services.Get(service),
		limits: l,
		pacer:  pacer.New(l.Pacer, s.cfg.Clock),
		budget: pacer.NewRetryBudget(retryRatio, retryFloor, retryWindow),
	}
	if len(cs.order) >= cs.max {
		return c
	}
	if cs.byName == nil {
		cs.byName = make(map[string]*client)
	}
	cs.byName[service] = c
	cs.order = append(cs.order, c)
	return c
}

// each calls f for every kept client, in first-use order.
func (cs *clients) each(f func(*client)) {
	cs.mu.Lock()
	order := cs.order
	cs.mu.Unlock()
	for _, c := range order {
		f(c)
	}
}

// instrumented returns base with the series' request counting and
// otelhttp's timing (and client span, when tracing), without a breaker.
func (s *Stack) instrumented(series *Series, base http.RoundTripper) http.RoundTripper {
	opts := s.cfg.OTelHTTP
	if s.cfg.TracerProvider != nil {
		opts = append(slices.Clip(opts), otelhttp.WithSpanOptions(trace.WithAttributes(attribute.String(AttrService, series.Name))))
	}
	return &countingTransport{series: series, next: otelhttp.NewTransport(base, opts...)}
}

// countingTransport counts a service's requests, its 429s and its errors
// (a 5xx, a transport error or a timeout: what the availability objective
// counts against the service), and labels them for otelhttp, which times
// them.
type countingTransport struct {
	series *Series
	next   http.RoundTripper // otelhttp's transport
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.series.requests.Add(1)
	ctx := otelhttp.ContextWithClientLabeler(req.Context(), t.series.labeler)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	switch {
	case err != nil:
		// A timeout is the service's failure; a caller that gave up is not.
		if !errors.Is(req.Context().Err(), context.Canceled) {
			t.series.failed.Add(1)
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		t.series.rateLimited.Add(1)
	case resp.StatusCode >= 500:
		t.series.failed.Add(1)
	}
	return resp, err
}
