package healthcheck_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/clock"
)

// TestFaults checks one target against misbehaving servers: which outcomes
// count as failures, and that each failure says why.
func TestFaults(t *testing.T) {
	const timeout = 100 * time.Millisecond
	for _, tc := range []struct {
		name     string
		handler  func(release <-chan struct{}) http.HandlerFunc
		target   healthcheck.Target // Name and URL are filled in
		wantOK   bool
		wantCode int
		check    func(t *testing.T, err error)
	}{
		{
			name:     "ok",
			handler:  static(http.StatusOK),
			wantOK:   true,
			wantCode: http.StatusOK,
		},
		{
			name:     "no content",
			handler:  static(http.StatusNoContent),
			wantOK:   true,
			wantCode: http.StatusNoContent,
		},
		{
			name:     "HEAD",
			handler:  methodOnly(http.MethodHead),
			target:   healthcheck.Target{Method: http.MethodHead},
			wantOK:   true,
			wantCode: http.StatusOK,
		},
		{
			name:     "expected 404",
			handler:  static(http.StatusNotFound),
			target:   healthcheck.Target{ExpectedStatus: []int{http.StatusNotFound}},
			wantOK:   true,
			wantCode: http.StatusNotFound,
		},
		{
			name: "redirect followed",
			handler: func(<-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/ok" {
						http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
					}
				}
			},
			wantOK:   true,
			wantCode: http.StatusOK,
		},
		{
			name:     "server error",
			handler:  static(http.StatusInternalServerError),
			wantCode: http.StatusInternalServerError,
			check:    wantStatusError(http.StatusInternalServerError),
		},
		{
			// A throttled service answered: it is up.
			name:     "rate limited",
			handler:  static(http.StatusTooManyRequests),
			wantOK:   true,
			wantCode: http.StatusTooManyRequests,
		},
		{
			// An API root without a key answers 401 (TMDb, Trakt): up.
			name:     "unauthorized",
			handler:  static(http.StatusUnauthorized),
			wantOK:   true,
			wantCode: http.StatusUnauthorized,
		},
		{
			name:     "forbidden",
			handler:  static(http.StatusForbidden),
			wantOK:   true,
			wantCode: http.StatusForbidden,
		},
		{
			name:     "not found",
			handler:  static(http.StatusNotFound),
			wantOK:   true,
			wantCode: http.StatusNotFound,
		},
		{
			name:     "bad gateway",
			handler:  static(http.StatusBadGateway),
			wantCode: http.StatusBadGateway,
			check:    wantStatusError(http.StatusBadGateway),
		},
		{
			name:     "service unavailable",
			handler:  static(http.StatusServiceUnavailable),
			wantCode: http.StatusServiceUnavailable,
			check:    wantStatusError(http.StatusServiceUnavailable),
		},
		{
			name:     "ExpectedStatus narrows: 401 not listed",
			handler:  static(http.StatusUnauthorized),
			target:   healthcheck.Target{ExpectedStatus: []int{http.StatusOK}},
			wantCode: http.StatusUnauthorized,
			check:    wantStatusError(http.StatusUnauthorized),
		},
		{
			name:     "ExpectedStatus narrows: 429 not listed",
			handler:  static(http.StatusTooManyRequests),
			target:   healthcheck.Target{ExpectedStatus: []int{http.StatusOK}},
			wantCode: http.StatusTooManyRequests,
			check:    wantStatusError(http.StatusTooManyRequests),
		},
		{
			name:     "ExpectedStatus widens: 503 listed",
			handler:  static(http.StatusServiceUnavailable),
			target:   healthcheck.Target{ExpectedStatus: []int{http.StatusServiceUnavailable}},
			wantOK:   true,
			wantCode: http.StatusServiceUnavailable,
		},
		{
			name:     "unexpected 200",
			handler:  static(http.StatusOK),
			target:   healthcheck.Target{ExpectedStatus: []int{http.StatusNoContent}},
			wantCode: http.StatusOK,
			check:    wantStatusError(http.StatusOK),
		},
		{
			name: "hangs past the timeout",
			handler: func(release <-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-release:
					case <-r.Context().Done():
					}
				}
			},
			target: healthcheck.Target{Timeout: timeout},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want DeadlineExceeded", err)
				}
			},
		},
		{
			name: "connection reset",
			handler: func(<-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err != nil {
						panic(err)
					}
					if tcp, ok := conn.(*net.TCPConn); ok {
						_ = tcp.SetLinger(0) // RST instead of FIN
					}
					_ = conn.Close()
				}
			},
			check: wantURLError,
		},
		{
			name: "garbage response",
			handler: func(<-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					conn, buf, err := w.(http.Hijacker).Hijack()
					if err != nil {
						panic(err)
					}
					_, _ = buf.WriteString("SSH-2.0-not-http\r\n\r\n")
					_ = buf.Flush()
					_ = conn.Close()
				}
			},
			check: wantURLError,
		},
		{
			name: "redirect loop",
			handler: func(<-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, r.URL.String(), http.StatusFound)
				}
			},
			check: func(t *testing.T, err error) {
				wantURLError(t, err)
				if !strings.Contains(err.Error(), "redirects") {
					t.Errorf("err = %v, want a redirect error", err)
				}
			},
		},
		{
			name: "huge body",
			handler: func(<-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					chunk := make([]byte, 1<<20)
					for range 1 << 10 { // up to 1 GiB, until the client hangs up
						if _, err := w.Write(chunk); err != nil {
							return
						}
					}
				}
			},
			wantOK:   true,
			wantCode: http.StatusOK,
		},
		{
			name: "truncated body",
			handler: func(<-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "1000")
					_, _ = w.Write([]byte("short"))
				}
			},
			wantOK:   true,
			wantCode: http.StatusOK,
		},
		{
			name: "body stalls past the timeout",
			handler: func(release <-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					_, _ = w.Write([]byte("{\"status\":"))
					w.(http.Flusher).Flush()
					select {
					case <-release:
					case <-r.Context().Done():
					}
				}
			},
			target:   healthcheck.Target{Timeout: timeout},
			wantOK:   true,
			wantCode: http.StatusOK,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := newHandlerServer(t, tc.handler(release))
			t.Cleanup(func() { close(release) })
			c, _ := newChecker(t, healthcheck.Config{FailureThreshold: 1})
			target := tc.target
			target.Name, target.URL = "svc", srv.URL+"/health"
			mustAdd(t, c, target)

			res, err := c.CheckNow(t.Context(), "svc")
			if err != nil {
				t.Fatalf("CheckNow: %v", err)
			}
			if res.OK != tc.wantOK || res.StatusCode != tc.wantCode {
				t.Fatalf("OK=%v code=%d err=%v, want OK=%v code=%d", res.OK, res.StatusCode, res.Err, tc.wantOK, tc.wantCode)
			}
			if res.OK != (res.Err == nil) {
				t.Fatalf("OK=%v with err %v", res.OK, res.Err)
			}
			if !res.Time.Equal(epoch) || res.Target != "svc" {
				t.Fatalf("Result = %+v", res)
			}
			want := healthcheck.Up
			if !tc.wantOK {
				want = healthcheck.Down
			}
			if res.Status != want {
				t.Fatalf("Status = %v, want %v", res.Status, want)
			}
			if tc.check != nil {
				tc.check(t, res.Err)
			}
			sh := c.Summary().Services[0]
			if (sh.LastError == "") != tc.wantOK {
				t.Fatalf("LastError = %q", sh.LastError)
			}
		})
	}
}

func static(code int) func(<-chan struct{}) http.HandlerFunc {
	return func(<-chan struct{}) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
	}
}

func methodOnly(method string) func(<-chan struct{}) http.HandlerFunc {
	return func(<-chan struct{}) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != method {
				w.WriteHeader(http.StatusMethodNotAllowed)
			}
		}
	}
}

func wantStatusError(code int) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		var se *healthcheck.StatusError
		if !errors.As(err, &se) || se.StatusCode != code {
			t.Errorf("err = %v, want *StatusError %d", err, code)
		}
	}
}

func wantURLError(t *testing.T, err error) {
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("err = %#v, want a *url.Error", err)
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPanickingTransportIsAFailure(t *testing.T) {
	panicky := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		panic("transport exploded")
	})}
	c, _ := newChecker(t, healthcheck.Config{FailureThreshold: 1}, healthcheck.WithHTTPClient(panicky))
	mustAdd(t, c, healthcheck.Target{Name: "svc", URL: "http://svc.invalid/"})
	res, err := c.CheckNow(t.Context(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || !errors.Is(res.Err, healthcheck.ErrCheckPanicked) || !strings.Contains(res.Err.Error(), "transport exploded") {
		t.Fatalf("Result = %+v", res)
	}
	if res.Status != healthcheck.Down {
		t.Fatalf("Status = %v", res.Status)
	}
}

// TestTransportIgnoringContext checks that a transport that hangs without
// looking at the request's context still fails the check at its timeout, that
// the scheduler moves on, that Shutdown waits for the stuck goroutine only as
// long as its context allows (a later call returns that first result without
// waiting again), and that the goroutine exits once the transport returns.
func TestTransportIgnoringContext(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	hang := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		entered <- struct{}{}
		<-release
		return nil, errors.New("released")
	})}
	// Not newChecker, whose cleanup expects Shutdown to succeed.
	fc := clock.NewFake(epoch)
	c, err := healthcheck.New(healthcheck.Config{FailureThreshold: 1, RequestTimeout: 50 * time.Millisecond},
		healthcheck.WithClock(fc), healthcheck.WithHTTPClient(hang), healthcheck.WithJitterSource(func() float64 { return 0 }))
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, c, healthcheck.Target{Name: "svc", URL: "http://svc.invalid/"})

	res, err := c.CheckNow(t.Context(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || !errors.Is(res.Err, context.DeadlineExceeded) || res.Status != healthcheck.Down {
		t.Fatalf("Result = %+v", res)
	}

	// The schedule goes on while the abandoned request is stuck.
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	fc.BlockUntilTimers(1)
	fc.Advance(healthcheck.DefaultCheckInterval)
	fc.BlockUntilTimers(1)
	for range 3 { // CheckNow, the check at Start, the scheduled one
		<-entered
	}
	if n := len(entered); n != 0 {
		t.Fatalf("%d extra requests", n)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	first := c.Shutdown(ctx)
	if !errors.Is(first, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with stuck requests = %v, want DeadlineExceeded", first)
	}
	close(release)
	if err := c.Shutdown(t.Context()); err != first {
		t.Fatalf("Shutdown after release = %v, want the first call's %v", err, first)
	}
	goleak.VerifyNone(t) // the stuck goroutines exit once the transport returns
}

// TestSchedulerNotStuckBehindHang shows a healthy target checked on schedule
// while another target's check hangs and holds its slot.
func TestSchedulerNotStuckBehindHang(t *testing.T) {
	release := make(chan struct{})
	hung := make(chan struct{}, 1)
	slow := newHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		hung <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	fast := newSwitchServer(t, http.StatusOK)
	c, fc := newChecker(t, healthcheck.Config{MaxConcurrency: 2}, healthcheck.WithJitterSource(func() float64 { return 0 }))
	mustAdd(t, c, healthcheck.Target{Name: "slow", URL: slow.URL, Timeout: time.Hour})
	mustAdd(t, c, healthcheck.Target{Name: "fast", URL: fast.URL})
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-hung
	for round := int64(1); round <= 3; round++ {
		fc.BlockUntilTimers(1) // fast is waiting, slow still hangs
		if got := fast.hits.Load(); got != round {
			t.Fatalf("round %d: fast checked %d times", round, got)
		}
		fc.Advance(healthcheck.DefaultCheckInterval)
	}
	if s := mustStatus(t, c, "slow"); s != healthcheck.Unknown {
		t.Fatalf("slow = %v while its first check hangs", s)
	}
	// Shutdown cancels the hung check and does not count it.
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if sh := c.Summary().Services[1]; sh.Name != "slow" || sh.ConsecutiveFailures != 0 || sh.Status != healthcheck.Unknown {
		t.Fatalf("canceled check was counted: %+v", sh)
	}
}

// TestShutdownCancelsCheckInFlight checks that a CheckNow waiting on a slow
// target when Shutdown comes returns ErrShutdown, uncounted, and that a later
// Shutdown returns the first one's result.
func TestShutdownCancelsCheckInFlight(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := newHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done() // the client hung up
	})
	c, _ := newChecker(t, healthcheck.Config{FailureThreshold: 1})
	mustAdd(t, c, healthcheck.Target{Name: "slow", URL: srv.URL, Timeout: time.Hour})
	type answer struct {
		res healthcheck.Result
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := c.CheckNow(t.Context(), "slow")
		done <- answer{res, err}
	}()
	<-arrived
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	got := <-done
	if !errors.Is(got.err, healthcheck.ErrShutdown) || !errors.Is(got.res.Err, healthcheck.ErrShutdown) {
		t.Fatalf("CheckNow cancelled by Shutdown = %+v, %v; want ErrShutdown", got.res, got.err)
	}
	if s := mustStatus(t, c, "slow"); s != healthcheck.Unknown {
		t.Fatalf("cancelled check was counted: status %v", s)
	}
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatalf("second Shutdown = %v, want the first call's nil", err)
	}
}
