package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/clock"
)

var errUnavailable = errors.New("503 service unavailable")

func ExampleNew() {
	fc := clock.NewFake(time.Unix(0, 0)) // production code leaves the clock out
	b, err := breaker.New("tmdb", breaker.Config{FailureThreshold: 3, OpenTimeout: 30 * time.Second, RequestTimeout: 10 * time.Second},
		breaker.WithClock(fc), breaker.WithJitter(0),
		breaker.WithStateListener(func(ev breaker.StateChange) {
			fmt.Printf("%s: %v → %v after %d failures\n", ev.Name, ev.From, ev.To, ev.Counts.ConsecutiveFailures)
		}))
	if err != nil {
		panic(err)
	}
	fetch := func(ctx context.Context) error { return errUnavailable }
	for range 3 {
		_ = b.Execute(context.Background(), fetch)
	}
	err = b.Execute(context.Background(), fetch)
	fmt.Println(err, errors.Is(err, breaker.ErrOpen))
	fmt.Println(b.State(), b.Rejected())
	// Output:
	// tmdb: closed → open after 3 failures
	// breaker "tmdb": circuit breaker is open true
	// open 1
}

func ExampleBreaker_Execute() {
	b, _ := breaker.New("imdb", breaker.Config{FailureThreshold: 5, OpenTimeout: time.Minute, RequestTimeout: 30 * time.Second})
	err := b.Execute(context.Background(), func(ctx context.Context) error {
		deadline, _ := ctx.Deadline() // RequestTimeout: 30 s for imdb
		fmt.Println("has deadline:", !deadline.IsZero())
		return nil
	})
	fmt.Println(err, b.State())
	// Output:
	// has deadline: true
	// <nil> closed
}

func ExampleDo() {
	b, _ := breaker.New("trakt", breaker.Config{})
	list, err := breaker.Do(context.Background(), b, func(ctx context.Context) ([]string, error) {
		return []string{"Heat", "Ronin"}, nil
	})
	fmt.Println(list, err)
	// Output: [Heat Ronin] <nil>
}

func ExampleWithClassifier() {
	errNotFound := errors.New("404 not found")
	b, _ := breaker.New("plex", breaker.Config{FailureThreshold: 1},
		breaker.WithClassifier(func(err error) breaker.Outcome {
			if errors.Is(err, errNotFound) {
				return breaker.Ignored // the service answered: not its fault
			}
			return breaker.Failure
		}))
	_ = b.Execute(context.Background(), func(context.Context) error { return errNotFound })
	fmt.Println(b.State())
	// Output: closed
}

// rateLimited is what an HTTP client makes of a 429 response.
type rateLimited struct{ wait time.Duration }

func (e rateLimited) Error() string             { return "429 too many requests" }
func (e rateLimited) RetryAfter() time.Duration { return e.wait }

func ExampleRetryAfterError() {
	fc := clock.NewFake(time.Unix(0, 0))
	b, _ := breaker.New("trakt", breaker.Config{FailureThreshold: 1, OpenTimeout: 10 * time.Second},
		breaker.WithClock(fc), breaker.WithJitter(0))
	_ = b.Execute(context.Background(), func(context.Context) error {
		return fmt.Errorf("list sync: %w", rateLimited{wait: 90 * time.Second})
	})
	fc.Advance(60 * time.Second)
	fmt.Println("after 60s:", b.State())
	fc.Advance(30 * time.Second)
	fmt.Println("after 90s:", b.State())
	// Output:
	// after 60s: open
	// after 90s: half-open
}

func ExampleBreaker_SetMode() {
	b, _ := breaker.New("imdb", breaker.Config{})
	b.SetMode(breaker.ModeForcedOpen) // maintenance window
	err := b.Execute(context.Background(), func(context.Context) error { return nil })
	fmt.Println(b.Mode(), b.State(), errors.Is(err, breaker.ErrOpen))
	b.SetMode(breaker.ModeNormal) // the next call is a trial
	fmt.Println(b.Mode(), b.State())
	// Output:
	// forced-open open true
	// normal half-open
}

func ExampleNewRegistry() {
	defaults := map[string]breaker.Config{
		"tmdb": {FailureThreshold: 3, OpenTimeout: 30 * time.Second, RequestTimeout: 10 * time.Second},
		"imdb": {FailureThreshold: 5, OpenTimeout: time.Minute, RequestTimeout: 30 * time.Second},
	}
	overrides := map[string]breaker.Config{"tmdb": {OpenTimeout: 5 * time.Second}}
	reg := breaker.NewRegistry(breaker.RegistryConfig{
		// An override sets only the fields it changes.
		ConfigFor:   func(name string) breaker.Config { return defaults[name].Merge(overrides[name]) },
		MaxBreakers: 16,
	})
	for _, s := range []string{"tmdb", "imdb"} {
		b, err := reg.Get(s)
		if err != nil {
			panic(err)
		}
		c := b.Config()
		fmt.Println(b.Name(), c.FailureThreshold, c.OpenTimeout, c.RequestTimeout)
	}
	for _, st := range reg.Stats() {
		fmt.Println(st.Name, st.State, st.Mode)
	}
	_, err := reg.Get("")
	fmt.Println(errors.Is(err, breaker.ErrInvalidConfig))
	// Output:
	// tmdb 3 5s 10s
	// imdb 5 1m0s 30s
	// imdb closed normal
	// tmdb closed normal
	// true
}

// transport guards an http.RoundTripper with a breaker, using the two-step
// form: the outcome is known when the headers arrive, but the request
// context must live until the body is closed.
type transport struct {
	b    *breaker.Breaker
	next http.RoundTripper
}

// statusError is a failed response; for 429 it carries Retry-After.
type statusError struct {
	code int
	wait time.Duration
}

func (e *statusError) Error() string             { return "HTTP " + strconv.Itoa(e.code) }
func (e *statusError) RetryAfter() time.Duration { return e.wait }

// body releases the ticket when the response body is closed.
type body struct {
	io.ReadCloser
	t breaker.Ticket
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.t.Release()
	return err
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tk, ctx, err := t.b.Allow(req.Context())
	if err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		tk.Done(err)
		tk.Release()
		return nil, err
	}
	var outcome error
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		outcome = &statusError{code: resp.StatusCode, wait: time.Duration(wait) * time.Second}
	}
	wrapped := &body{ReadCloser: resp.Body, t: tk} // the ticket lives here from now on
	wrapped.t.Done(outcome)
	resp.Body = wrapped
	return resp, nil
}

func ExampleBreaker_Allow() {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls++; calls <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	fc := clock.NewFake(time.Unix(0, 0))
	b, _ := breaker.New("plex", breaker.Config{FailureThreshold: 2, OpenTimeout: 30 * time.Second, RequestTimeout: 20 * time.Second}, breaker.WithClock(fc), breaker.WithJitter(0))
	client := &http.Client{Transport: &transport{b: b, next: base}}

	get := func() {
		resp, err := client.Get(srv.URL)
		if err != nil {
			fmt.Println(errors.Is(err, breaker.ErrOpen), b.State())
			return
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(data), b.State())
	}
	get()
	get()
	get() // rejected without reaching the server
	fc.Advance(30 * time.Second)
	get() // the trial call closes the breaker
	// Output:
	// 503  closed
	// 503  open
	// true open
	// 200 ok closed
}
