// Package notifytest holds the httptest stand-in and the delivery tests that
// every HTTP notifier of alerting must pass: status classification,
// Retry-After, transport errors without secrets, and cancellation. It also
// holds what their own tests share: the alerts they send (Firing,
// Resolved), MustNew, and checks of requests, String, WithName and the
// *ConfigErrors of New (RunRejects).
package notifytest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting"
)

// Request is what the stand-in received.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// Receiver is an httptest server that records each request and answers
// with its Respond function.
type Receiver struct {
	*httptest.Server
	reqs chan Request
}

// NewReceiver starts a Receiver answering with respond (nil: 200 "ok"). It
// is closed when the test ends.
func NewReceiver(t testing.TB, respond http.HandlerFunc) *Receiver {
	t.Helper()
	r := &Receiver{reqs: make(chan Request, 16)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.reqs <- Request{Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery, Header: req.Header.Clone(), Body: body}
		if respond == nil {
			_, _ = io.WriteString(w, "ok")
			return
		}
		respond(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

// Next returns the next recorded request, failing the test if none was
// made. Notify is synchronous, so after it returns the request, if any, is
// already recorded.
func (r *Receiver) Next(t testing.TB) Request {
	t.Helper()
	select {
	case req := <-r.reqs:
		return req
	default:
		t.Fatal("receiver got no request")
		return Request{}
	}
}

// Suite describes a notifier to RunDelivery.
type Suite struct {
	// New returns the notifier under test, sending to the server at base
	// ("http://127.0.0.1:port") through a URL that carries Secrets.
	New func(t testing.TB, base string) alerting.Notifier
	// Secrets must appear in no error (path tokens, query values,
	// passwords, header values).
	Secrets []string
	// Alert is the alert to send.
	Alert alerting.Alert
}

// RunDelivery runs the delivery tests every HTTP notifier must pass.
func RunDelivery(t *testing.T, s Suite) {
	t.Run("status", func(t *testing.T) {
		for _, tc := range []struct {
			code       int
			retryAfter string
			wantErr    bool
			retry      bool
			after      time.Duration
		}{
			{code: 200},
			{code: 202},
			{code: 204},
			{code: 400, wantErr: true},
			{code: 401, wantErr: true},
			{code: 404, wantErr: true},
			{code: 410, wantErr: true},
			{code: 429, wantErr: true, retry: true},
			{code: 429, retryAfter: "7", wantErr: true, retry: true, after: 7 * time.Second},
			{code: 500, wantErr: true, retry: true},
			{code: 503, retryAfter: "30", wantErr: true, retry: true, after: 30 * time.Second},
		} {
			t.Run(http.StatusText(tc.code)+tc.retryAfter, func(t *testing.T) {
				rcv := NewReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					w.WriteHeader(tc.code)
					_, _ = io.WriteString(w, "answer body")
				})
				err := s.New(t, rcv.URL).Notify(context.Background(), s.Alert)
				rcv.Next(t)
				if !tc.wantErr {
					if err != nil {
						t.Fatalf("Notify = %v, want nil", err)
					}
					return
				}
				var se *alerting.StatusError
				if !errors.As(err, &se) || se.StatusCode != tc.code {
					t.Fatalf("Notify = %v, want a *StatusError %d", err, tc.code)
				}
				retry, after := alerting.Retryable(err)
				if retry != tc.retry || after != tc.after {
					t.Fatalf("Retryable(%v) = %v, %v; want %v, %v", err, retry, after, tc.retry, tc.after)
				}
				NoSecrets(t, err, s.Secrets)
			})
		}
	})

	t.Run("transport error", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		base := srv.URL
		srv.Close()
		err := s.New(t, base).Notify(context.Background(), s.Alert)
		if err == nil {
			t.Fatal("Notify to a closed server = nil")
		}
		if retry, _ := alerting.Retryable(err); !retry {
			t.Fatalf("Retryable(%v) = false, want true", err)
		}
		NoSecrets(t, err, s.Secrets)
	})

	t.Run("cancelled before", func(t *testing.T) {
		rcv := NewReceiver(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.New(t, rcv.URL).Notify(ctx, s.Alert)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Notify = %v, want context.Canceled", err)
		}
		if retry, _ := alerting.Retryable(err); retry {
			t.Fatalf("Retryable(%v) = true", err)
		}
		NoSecrets(t, err, s.Secrets)
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		arrived := make(chan struct{})
		rcv := NewReceiver(t, func(_ http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-r.Context().Done() // the client hung up
		})
		n := s.New(t, rcv.URL)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- n.Notify(ctx, s.Alert) }()
		<-arrived
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Notify = %v, want context.Canceled", err)
		}
		NoSecrets(t, err, s.Secrets)
	})

	t.Run("deadline", func(t *testing.T) {
		rcv := NewReceiver(t, nil)
		ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
		defer cancel()
		err := s.New(t, rcv.URL).Notify(ctx, s.Alert)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Notify = %v, want context.DeadlineExceeded", err)
		}
		NoSecrets(t, err, s.Secrets)
	})
}

// NoSecrets fails the test if err's message contains any of secrets.
func NoSecrets(t testing.TB, err error, secrets []string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error leaks secret %q: %v", s, err)
		}
	}
}
