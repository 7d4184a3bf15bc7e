package clientstack

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// BenchmarkHTTPClient compares a loopback GET through the stack the
// Monitor's clients use (pacer, retry loop, breaker, counting, otelhttp)
// with the same GET
// through the 0.1 stack (breaker, counting, otelhttp, no pacer or retry
// loop), through a bare otelhttp transport on the same provider and
// through a plain http.Client. The service is unpaced ("acme"): this is
// the overhead on a request that is not throttled.
func BenchmarkHTTPClient(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	s := newTestStack(b, mp)

	base := http.DefaultTransport.(*http.Transport).Clone()
	defer base.CloseIdleConnections()
	clients := []struct {
		name string
		c    *http.Client
	}{
		{"stack=otelmon", &http.Client{Transport: s.Transport("acme", base)}},
		{"stack=0.1", &http.Client{Transport: seedStack(b, s, "acme", base)}},
		{"stack=otelhttp-bare", &http.Client{Transport: otelhttp.NewTransport(base, otelhttp.WithMeterProvider(mp))}},
		{"stack=plain", &http.Client{Transport: base}},
	}
	for _, tc := range clients {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				resp, err := tc.c.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// seedStack is the client stack of otelmon 0.1: breaker, counting and
// otelhttp, without pacer or retry loop.
func seedStack(tb testing.TB, s *Stack, service string, base http.RoundTripper) http.RoundTripper {
	br, err := s.cfg.Breakers.Get(service)
	if err != nil {
		tb.Fatal(err)
	}
	return &breakerTransport{s: s, b: br, next: s.instrumented(s.services.Get(service), base)}
}
