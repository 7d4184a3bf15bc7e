package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// upstream simulates one external list service (IMDb, TMDb, Trakt, Plex) on
// loopback: GET /list returns a list of movie IDs, GET /movie/{id} returns a
// movie's metadata, GET /health answers health checks. Faults are switched
// on by the demo's flags.
type upstream struct {
	name  string
	srv   *http.Server
	ln    net.Listener
	done  chan struct{} // closed when Serve has returned
	seed  int
	mu    sync.Mutex // guards the fault fields and round
	fault fault
	round int // advances the list so syncs see additions and updates
}

// fault is how an upstream misbehaves.
type fault struct {
	fail       bool
	failUntil  time.Time // zero: for ever (when fail is set)
	rateLimit  bool
	retryAfter time.Duration
	slow       time.Duration
}

type listItem struct {
	ID      int `json:"id"`
	Version int `json:"version"`
}

type movie struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	Year  int    `json:"year"`
}

func startUpstream(name string, seed int, f fault) (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", name, err)
	}
	u := &upstream{name: name, ln: ln, seed: seed, fault: f, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /list", u.guard(u.list))
	mux.HandleFunc("GET /movie/{id}", u.guard(u.movie))
	mux.HandleFunc("GET /health", u.guard(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	u.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(u.done)
		_ = u.srv.Serve(ln) // returns http.ErrServerClosed after close
	}()
	return u, nil
}

// URL returns the base URL of the upstream.
func (u *upstream) URL() string { return "http://" + u.ln.Addr().String() }

func (u *upstream) close(ctx context.Context) error {
	err := u.srv.Shutdown(ctx)
	<-u.done
	return err
}

// guard applies the configured fault before a handler runs.
func (u *upstream) guard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		f := u.fault
		u.mu.Unlock()
		if f.slow > 0 {
			select {
			case <-time.After(f.slow):
			case <-r.Context().Done():
				return
			}
		}
		if f.fail && (f.failUntil.IsZero() || time.Now().Before(f.failUntil)) {
			http.Error(w, u.name+" is failing (simulated)", http.StatusInternalServerError)
			return
		}
		if f.rateLimit && r.URL.Path != "/health" {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter.Seconds())))
			http.Error(w, "rate limited (simulated)", http.StatusTooManyRequests)
			return
		}
		h(w, r)
	}
}

// list returns 20 items drawn from a pool of 40: each round shifts the
// window by two (new items to add) and bumps the version of a few (updates).
func (u *upstream) list(w http.ResponseWriter, _ *http.Request) {
	u.mu.Lock()
	u.round++
	round := u.round
	u.mu.Unlock()
	items := make([]listItem, 0, 20)
	for i := 0; i < 20; i++ {
		id := u.seed*1000 + (round*2+i)%40
		items = append(items, listItem{ID: id, Version: (round + i) / 5})
	}
	writeJSON(w, items)
}

func (u *upstream) movie(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	writeJSON(w, movie{ID: id, Title: fmt.Sprintf("%s movie %d", u.name, id), Year: 1950 + id%75})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
