package healthcheck_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/syncbuf"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// epoch is the Fake clock's start in every test.
var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newChecker returns a Checker on a Fake clock, shut down at the end of the
// test.
func newChecker(t *testing.T, cfg healthcheck.Config, opts ...healthcheck.Option) (*healthcheck.Checker, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(epoch)
	c, err := healthcheck.New(cfg, append([]healthcheck.Option{healthcheck.WithClock(fc)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return c, fc
}

// mustAdd adds t or fails the test.
func mustAdd(tb testing.TB, c *healthcheck.Checker, t healthcheck.Target) {
	tb.Helper()
	if err := c.Add(t); err != nil {
		tb.Fatalf("Add(%s): %v", t.Name, err)
	}
}

// switchServer answers with the status code stored in code and counts hits.
type switchServer struct {
	*httptest.Server
	code atomic.Int32
	hits atomic.Int64
}

func newSwitchServer(t testing.TB, code int) *switchServer {
	t.Helper()
	s := &switchServer{}
	s.code.Store(int32(code))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		w.WriteHeader(int(s.code.Load()))
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(s.Close)
	return s
}

// recorder is a listener that keeps every transition.
type recorder struct {
	mu sync.Mutex
	ts []healthcheck.Transition
}

func (r *recorder) listen(t healthcheck.Transition) {
	r.mu.Lock()
	r.ts = append(r.ts, t)
	r.mu.Unlock()
}

func (r *recorder) transitions() []healthcheck.Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]healthcheck.Transition(nil), r.ts...)
}

func debugLogger(w *syncbuf.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// statusLetters spells statuses as in the threshold tables: ? U D.
func statusLetter(s healthcheck.Status) byte {
	switch s {
	case healthcheck.Up:
		return 'U'
	case healthcheck.Down:
		return 'D'
	}
	return '?'
}

// newHandlerServer starts an httptest server closed at the end of the test.
func newHandlerServer(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
