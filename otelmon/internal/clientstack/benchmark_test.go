package clientstack

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// BenchmarkStack compares a loopback GET through the stack (pacer, retry
// loop, breaker, counting, otelhttp) with the same GET through the 0.1
// stack (breaker, counting, otelhttp, no pacer or retry loop). The service
// is unpaced ("acme"): this is the cost of pacing and retries on a request
// that is not throttled. otelmon's BenchmarkHTTPClient compares the
// Monitor's client with bare otelhttp and a plain client.
func BenchmarkStack(b *testing.B) {
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
