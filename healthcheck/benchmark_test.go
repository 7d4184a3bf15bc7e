package healthcheck_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/listsync/otelmon/healthcheck"
)

func benchChecker(b *testing.B, n int) *healthcheck.Checker {
	b.Helper()
	srv := newSwitchServer(b, http.StatusOK)
	c, err := healthcheck.New(healthcheck.Config{MaxConcurrency: n})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Shutdown(b.Context()) })
	for i := range n {
		mustAdd(b, c, healthcheck.Target{Name: fmt.Sprintf("svc%02d", i), URL: srv.URL})
	}
	c.CheckAll(b.Context())
	return c
}

func BenchmarkCheckNow(b *testing.B) {
	c := benchChecker(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.CheckNow(b.Context(), "svc00"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStatuses(b *testing.B) {
	c := benchChecker(b, 10)
	b.ReportAllocs()
	for b.Loop() {
		c.Statuses(func(string, healthcheck.Status) {})
	}
}

func BenchmarkSummary(b *testing.B) {
	c := benchChecker(b, 10)
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Summary()
	}
}

func BenchmarkHealth(b *testing.B) {
	c := benchChecker(b, 10)
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Health()
	}
}
