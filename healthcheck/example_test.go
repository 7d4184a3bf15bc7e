package healthcheck_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"time"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/clock"
)

// upstream stands in for the external services: /down answers 503.
func upstream() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
}

// A host registers the reference services, carrying on when Plex, which has
// no default URL, is skipped, and forces a round of checks.
func Example() {
	srv := upstream()
	defer srv.Close()

	c, err := healthcheck.New(healthcheck.Config{FailureThreshold: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Shutdown(context.Background())

	urls := map[string]string{
		"imdb":  srv.URL + "/",
		"tmdb":  srv.URL + "/3/configuration?api_key=KEY",
		"trakt": srv.URL + "/down",
	}
	for _, t := range healthcheck.DefaultTargets(urls) {
		switch err := c.Add(t); {
		case errors.Is(err, healthcheck.ErrNoURL):
			fmt.Println("skipped", t.Name)
		case err != nil:
			log.Fatal(err)
		}
	}
	for _, r := range c.CheckAll(context.Background()) {
		fmt.Println(r.Target, r.Status, r.StatusCode, r.Err)
	}
	s := c.Summary()
	fmt.Printf("%d up, %d down, %d unknown of %d\n", s.HealthyServices, s.UnhealthyServices, s.UnknownServices, s.TotalServices)
	// Output:
	// skipped plex
	// imdb up 200 <nil>
	// tmdb up 200 <nil>
	// trakt down 503 unexpected HTTP status 503 Service Unavailable
	// 2 up, 1 down, 0 unknown of 3
}

func ExampleDefaultTargets() {
	for _, t := range healthcheck.DefaultTargets(map[string]string{"plex": "http://plex.local:32400/identity"}) {
		fmt.Println(t.Name, t.URL)
	}
	// Output:
	// imdb https://www.imdb.com/
	// tmdb https://api.themoviedb.org/3/
	// trakt https://api.trakt.tv/
	// plex http://plex.local:32400/identity
}

// The schedule, driven by a fake clock: Down after three failed checks, Up
// again after two good ones.
func ExampleChecker_Start() {
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()

	fc := clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	c, err := healthcheck.New(healthcheck.Config{CheckInterval: time.Minute},
		healthcheck.WithClock(fc),
		healthcheck.WithJitterSource(func() float64 { return 0 }),
		healthcheck.WithListener(func(t healthcheck.Transition) {
			fmt.Printf("%s %s: %s -> %s\n", t.Result.Time.Format(time.TimeOnly), t.Target, t.From, t.To)
		}))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Add(healthcheck.Target{Name: "trakt", URL: srv.URL}); err != nil {
		log.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	fc.BlockUntilTimers(1) // the first check is done

	tick := func(n int) {
		for range n {
			fc.Advance(time.Minute)
			fc.BlockUntilTimers(1)
		}
	}
	failing.Store(true)
	tick(3)
	failing.Store(false)
	tick(2)
	if err := c.Shutdown(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 12:00:00 trakt: unknown -> up
	// 12:03:00 trakt: up -> down
	// 12:05:00 trakt: down -> up
}

func ExampleChecker_CheckNow() {
	srv := upstream()
	defer srv.Close()
	c, err := healthcheck.New(healthcheck.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Shutdown(context.Background())
	if err := c.Add(healthcheck.Target{Name: "trakt", URL: srv.URL + "/down?client_id=SECRET"}); err != nil {
		log.Fatal(err)
	}
	for range 3 {
		r, err := c.CheckNow(context.Background(), "trakt")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.OK, r.Status, r.Err)
	}
	_, err = c.CheckNow(context.Background(), "letterboxd")
	fmt.Println(errors.Is(err, healthcheck.ErrUnknownTarget), err)
	// Output:
	// false unknown unexpected HTTP status 503 Service Unavailable
	// false unknown unexpected HTTP status 503 Service Unavailable
	// false down unexpected HTTP status 503 Service Unavailable
	// true healthcheck: target "letterboxd": unknown target
}

// A gauge callback reads every status without waiting for checks.
func ExampleChecker_Statuses() {
	srv := upstream()
	defer srv.Close()
	c, err := healthcheck.New(healthcheck.Config{FailureThreshold: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Shutdown(context.Background())
	for _, t := range []healthcheck.Target{
		{Name: "imdb", URL: srv.URL},
		{Name: "trakt", URL: srv.URL + "/down"},
		{Name: "plex", URL: srv.URL},
	} {
		if err := c.Add(t); err != nil {
			log.Fatal(err)
		}
	}
	for _, n := range []string{"imdb", "trakt"} {
		if _, err := c.CheckNow(context.Background(), n); err != nil {
			log.Fatal(err)
		}
	}
	// In otelmon this runs inside the service_up gauge's callback.
	c.Statuses(func(name string, s healthcheck.Status) {
		switch s {
		case healthcheck.Up:
			fmt.Printf("service_up{service=%q} 1\n", name)
		case healthcheck.Down:
			fmt.Printf("service_up{service=%q} 0\n", name)
		default:
			fmt.Printf("service %q not checked yet\n", name)
		}
	})
	// Output:
	// service_up{service="imdb"} 1
	// service "plex" not checked yet
	// service_up{service="trakt"} 0
}

// labeled is a transport that tells which service a request is for, as a
// metrics-recording transport would.
type labeled struct {
	service string
	next    http.RoundTripper
}

func (l labeled) RoundTrip(r *http.Request) (*http.Response, error) {
	fmt.Println("request for", l.service)
	return l.next.RoundTrip(r)
}

// A host gives each service a client of its own, for example one whose
// transport records metrics labeled with the service.
func ExampleWithClientFor() {
	srv := upstream()
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	c, err := healthcheck.New(healthcheck.Config{},
		healthcheck.WithClientFor(func(service string) *http.Client {
			return &http.Client{Transport: labeled{service: service, next: base}}
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Shutdown(context.Background())
	if err := c.Add(healthcheck.Target{Name: "tmdb", URL: srv.URL}); err != nil {
		log.Fatal(err)
	}
	r, _ := c.CheckNow(context.Background(), "tmdb")
	fmt.Println(r.Target, r.Status)
	// Output:
	// request for tmdb
	// tmdb up
}

func ExampleChecker_Health() {
	srv := upstream()
	defer srv.Close()
	fc := clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	c, err := healthcheck.New(healthcheck.Config{}, healthcheck.WithClock(fc))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Shutdown(context.Background())
	if err := c.Add(healthcheck.Target{Name: "tmdb", URL: srv.URL}); err != nil {
		log.Fatal(err)
	}
	if _, err := c.CheckNow(context.Background(), "tmdb"); err != nil {
		log.Fatal(err)
	}
	doc := c.Health()
	fmt.Println(healthcheck.ContentTypeHealthJSON, doc.Status.HTTPStatusCode())
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		log.Fatal(err)
	}
	// Output:
	// application/health+json 200
	// {
	//   "status": "pass",
	//   "checks": {
	//     "tmdb:responseTime": [
	//       {
	//         "componentId": "tmdb",
	//         "componentType": "component",
	//         "status": "pass",
	//         "time": "2025-03-01T12:00:00Z",
	//         "observedValue": 0,
	//         "observedUnit": "ms"
	//       }
	//     ]
	//   }
	// }
}

// New rejects a negative value rather than defaulting it; a zero one means
// the default.
func ExampleNew_invalidConfig() {
	_, err := healthcheck.New(healthcheck.Config{CheckInterval: -time.Minute, FailureThreshold: -1})
	var ce *healthcheck.ConfigError
	if errors.As(err, &ce) {
		fmt.Printf("%s %s: %s\n", ce.Field, ce.Value, ce.Reason)
	}
	fmt.Println(errors.Is(err, healthcheck.ErrInvalidConfig))
	fmt.Println(err)
	// Output:
	// CheckInterval -1m0s: must not be negative
	// true
	// invalid health check config: CheckInterval = -1m0s: must not be negative
	// invalid health check config: FailureThreshold = -1: must not be negative
}
