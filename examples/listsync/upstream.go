package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// upstream stands in for one external list service (IMDb, TMDb, Trakt,
// Plex) on loopback: GET /list returns a list of movie IDs and GET
// /movie/{id} a movie's metadata. In front of those it behaves as the real
// service documents (see serve): it asks for the service's credentials, and
// TMDb and Trakt enforce their published rate limits. Faults are switched on
// by the demo's flags.
type upstream struct {
	name    string
	seed    int
	now     func() time.Time // the stand-in's clock: time.Now, or a test's
	limit   limiter          // nil: the service publishes no limit
	handler http.Handler     // serve in front of the API routes

	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve has returned

	mu    sync.Mutex // guards fault, round and the flaky state
	fault fault
	round int // advances the list so syncs see additions and updates
	// owed is the share of a failure a flaky list has accrued; failed
	// says the last list failed, so the next one is served.
	owed   float64
	failed bool
}

// fault is how an upstream misbehaves.
type fault struct {
	// fail is an outage: every request, probes included, is answered 500
	// until failUntil (for ever when failUntil is zero).
	fail      bool
	failUntil time.Time
	// rateLimit makes the stand-in enforce a tight limit (tightLimit) in
	// place of the service's published one, so that throttling shows. It
	// is not an outage: requests beyond the limit are answered 429 with
	// Retry-After, the others are served.
	rateLimit bool
	// slow delays every answer by this long.
	slow time.Duration
	// flaky is the share of lists answered 500, so that the syncs reading
	// them fail, spread evenly and never two in a row (at most 0.5); every
	// other request, health probes included, is served. Zero: none.
	flaky float64
}

// Credentials the stand-ins accept and the syncer sends, each where its
// service expects it (see authorize). A real deployment reads its keys from
// its configuration; these exist only on loopback.
const (
	tmdbAPIKey    = "demo-tmdb-api-key"           // TMDb v3 api_key query parameter
	tmdbReadToken = "demo-tmdb-read-access-token" // TMDb API read access token (Bearer)
	traktClientID = "demo-trakt-client-id"        // Trakt trakt-api-key header
	plexToken     = "demo-plex-token"             // Plex X-Plex-Token header
)

type listItem struct {
	ID      int `json:"id"`
	Version int `json:"version"`
}

type movie struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	Year  int    `json:"year"`
}

// startUpstream starts the stand-in for the service name on a free
// loopback port.
func startUpstream(name string, seed int, f fault) (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", name, err)
	}
	u := newUpstream(name, seed, f, time.Now)
	u.ln = ln
	u.done = make(chan struct{})
	u.srv = &http.Server{Handler: u.handler, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(u.done)
		_ = u.srv.Serve(ln) // returns http.ErrServerClosed after close
	}()
	return u, nil
}

// newUpstream returns the stand-in for the service name, reading time from
// now, without starting a server.
func newUpstream(name string, seed int, f fault, now func() time.Time) *upstream {
	u := &upstream{name: name, seed: seed, fault: f, now: now, limit: newLimiter(name, f.rateLimit)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /list", u.list)
	mux.HandleFunc("GET /movie/{id}", u.movie)
	switch name {
	case "imdb":
		// IMDb's home page is public.
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintln(w, "<!doctype html><title>IMDb (stand-in)</title>")
		})
	case "plex":
		// Plex Media Server answers /identity without a token.
		mux.HandleFunc("GET /identity", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			fmt.Fprintln(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
				`<MediaContainer size="0" claimed="1" machineIdentifier="listsync-demo" version="1.40.0"/>`)
		})
	}
	u.handler = u.serve(mux)
	return u
}

// URL returns the base URL of the upstream.
func (u *upstream) URL() string { return "http://" + u.ln.Addr().String() }

// healthURL is what a health probe of the service requests: its API root,
// as healthcheck.DefaultTargets has it (401 without a key: up), or Plex's
// /identity.
func (u *upstream) healthURL() string {
	if u.name == "plex" {
		return u.URL() + "/identity"
	}
	return u.URL() + "/"
}

func (u *upstream) close(ctx context.Context) error {
	err := u.srv.Shutdown(ctx)
	<-u.done
	return err
}

// serve puts the service's behaviour in front of api, in this order: the
// configured delay; the outage (500 for everything); the credentials
// (authorize); the rate limit (the limiter). Requests that pass all of them
// reach api.
func (u *upstream) serve(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		f := u.fault
		u.mu.Unlock()
		if f.slow > 0 {
			t := time.NewTimer(f.slow)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.fail && (f.failUntil.IsZero() || u.now().Before(f.failUntil)) {
			http.Error(w, u.name+" is failing (simulated)", http.StatusInternalServerError)
			return
		}
		if !u.authorize(w, r) {
			return
		}
		if u.limit != nil && !u.limit.admit(w, r, u.now()) {
			return
		}
		api.ServeHTTP(w, r)
	})
}

// authorize checks r's credentials the way the service does and answers a
// request without valid ones; it reports whether r may go on.
func (u *upstream) authorize(w http.ResponseWriter, r *http.Request) bool {
	switch u.name {
	case "tmdb":
		// TMDb API docs, "Authentication": a v3 api_key query parameter or
		// an "Authorization: Bearer <API read access token>" header. Without
		// either, TMDb answers 401 with status_code 7 ("Status Codes").
		if equal(r.URL.Query().Get("api_key"), tmdbAPIKey) || equal(r.Header.Get("Authorization"), "Bearer "+tmdbReadToken) {
			return true
		}
		writeTMDbError(w, http.StatusUnauthorized, 7, "Invalid API key: You must be granted a valid key.")
		return false
	case "trakt":
		// Trakt API docs, "Required Headers": trakt-api-key (the app's
		// client_id) and trakt-api-version: 2 on every call. A call without
		// the key is refused 401; Trakt's "Status Codes" list 403 for an
		// invalid key or an unapproved app.
		switch key := r.Header.Get("trakt-api-key"); {
		case key == "":
			w.WriteHeader(http.StatusUnauthorized)
			return false
		case !equal(key, traktClientID):
			w.WriteHeader(http.StatusForbidden)
			return false
		}
		return true
	case "plex":
		// Plex Media Server: every path but /identity wants an
		// X-Plex-Token (header or query parameter), else 401.
		if r.URL.Path == "/identity" || equal(r.Header.Get("X-Plex-Token"), plexToken) ||
			equal(r.URL.Query().Get("X-Plex-Token"), plexToken) {
			return true
		}
		http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
		return false
	}
	return true // IMDb's lists are public pages
}

// equal compares a credential in constant time; an empty one never matches.
func equal(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// limiter is a service's rate limit, asked once per authorized request.
type limiter interface {
	// admit counts r at now and reports whether it may be served; when it
	// may not, admit has answered it (429 with Retry-After).
	admit(w http.ResponseWriter, r *http.Request, now time.Time) bool
}

// newLimiter returns the limit the stand-in for service enforces: the
// service's published one, or a tight one when tight is set. IMDb and Plex
// publish none.
func newLimiter(service string, tight bool) limiter {
	switch service {
	case "tmdb":
		if tight {
			return newTMDbLimit(tightTMDbRate)
		}
		return newTMDbLimit(tmdbRate)
	case "trakt":
		if tight {
			return newTraktLimit(tightTraktGETs, tightTraktPeriod)
		}
		return newTraktLimit(traktGETs, traktPeriod)
	}
	return nil
}

// The published limits, and the tight ones -rate-limit sets instead.
const (
	// TMDb API docs, "Rate Limiting": the legacy 40 requests per 10 s was
	// removed in December 2019; a soft ceiling of about 40 requests per
	// second per client remains, beyond which TMDb answers 429.
	tmdbRate      = 40
	tightTMDbRate = 4

	// Trakt API docs, "Rate Limiting": UNAUTHED_API_GET_LIMIT, 1000 GET
	// calls every 5 minutes per application (calls without OAuth, as the
	// demo's), and AUTHED_API_POST_LIMIT, 1 POST, PUT or DELETE per second.
	traktGETs        = 1000
	traktPeriod      = 5 * time.Minute
	tightTraktGETs   = 20
	tightTraktPeriod = 10 * time.Second
	traktWrites      = 1 // per second
)

// tmdbLimit is TMDb's per-second ceiling: a token bucket of perSecond
// tokens refilled at perSecond a second.
type tmdbLimit struct {
	bucket    *rate.Limiter // safe for concurrent use
	perSecond int
}

func newTMDbLimit(perSecond int) *tmdbLimit {
	return &tmdbLimit{bucket: rate.NewLimiter(rate.Limit(perSecond), perSecond), perSecond: perSecond}
}

// admit answers a request over the ceiling as TMDb documents it ("Status
// Codes", code 25): 429, Retry-After, and the JSON error body.
func (l *tmdbLimit) admit(w http.ResponseWriter, _ *http.Request, now time.Time) bool {
	if l.bucket.AllowN(now, 1) {
		return true
	}
	// The time until one token is back.
	wait := time.Duration((1 - l.bucket.TokensAt(now)) / float64(l.bucket.Limit()) * float64(time.Second))
	w.Header().Set("Retry-After", retryAfterSeconds(wait))
	writeTMDbError(w, http.StatusTooManyRequests, 25,
		fmt.Sprintf("Your request count (#) is over the allowed limit of (%d).", l.perSecond))
	return false
}

// writeTMDbError writes TMDb's error body, as its "Status Codes" document
// shows it.
func writeTMDbError(w http.ResponseWriter, code, statusCode int, message string) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		StatusCode    int    `json:"status_code"`
		StatusMessage string `json:"status_message"`
		Success       bool   `json:"success"`
	}{statusCode, message, false})
}

// traktLimit is Trakt's budget: limit GET calls per fixed window of period,
// and traktWrites POST, PUT or DELETE calls a second.
type traktLimit struct {
	limit  int
	period time.Duration
	writes *rate.Limiter // safe for concurrent use

	mu    sync.Mutex // guards start and count
	start time.Time  // of the current window; zero before the first call
	count int        // GET calls in the current window
}

func newTraktLimit(limit int, period time.Duration) *traktLimit {
	return &traktLimit{limit: limit, period: period, writes: rate.NewLimiter(traktWrites, traktWrites)}
}

// traktRateLimit is Trakt's X-Ratelimit header, a JSON object.
type traktRateLimit struct {
	Name      string `json:"name"`
	Period    int    `json:"period"` // seconds
	Limit     int    `json:"limit"`
	Remaining int    `json:"remaining"`
	Until     string `json:"until"` // RFC 3339, when the window resets
}

// admit counts r against its budget. Trakt API docs, "Rate Limiting": a
// call over the limit is answered 429 with Retry-After (seconds) and
// X-Ratelimit, and the client should pause for Retry-After. Trakt documents
// X-Ratelimit on 429 answers; the stand-in sends it on every counted answer,
// so that a client can see the budget before it runs out.
func (l *traktLimit) admit(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	var rl traktRateLimit
	var wait time.Duration
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		l.mu.Lock()
		if l.start.IsZero() || !now.Before(l.start.Add(l.period)) {
			l.start, l.count = now, 0
		}
		until := l.start.Add(l.period)
		ok := l.count < l.limit
		if ok {
			l.count++
		} else {
			wait = until.Sub(now)
		}
		rl = traktRateLimit{Name: "UNAUTHED_API_GET_LIMIT", Period: int(l.period / time.Second), Limit: l.limit,
			Remaining: l.limit - l.count, Until: until.UTC().Format(time.RFC3339)}
		l.mu.Unlock()
	default:
		ok := l.writes.AllowN(now, 1)
		if !ok {
			wait = time.Duration((1 - l.writes.TokensAt(now)) / float64(l.writes.Limit()) * float64(time.Second))
		}
		rl = traktRateLimit{Name: "AUTHED_API_POST_LIMIT", Period: 1, Limit: traktWrites, Remaining: 0,
			Until: now.Add(wait).UTC().Format(time.RFC3339)}
		if ok {
			rl.Remaining, rl.Until = traktWrites-1, now.Add(time.Second).UTC().Format(time.RFC3339)
		}
	}
	b, _ := json.Marshal(rl)
	w.Header().Set("X-Ratelimit", string(b))
	if wait <= 0 {
		return true
	}
	w.Header().Set("Retry-After", retryAfterSeconds(wait))
	w.WriteHeader(http.StatusTooManyRequests)
	return false
}

// retryAfterSeconds spells a wait as Retry-After delay-seconds, rounded up so a
// client that waits that long finds the budget back; at least 1.
func retryAfterSeconds(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}

// list returns 20 items drawn from a pool of 40: each round shifts the
// window by two (new items to add) and bumps the version of a few (updates).
func (u *upstream) list(w http.ResponseWriter, _ *http.Request) {
	u.mu.Lock()
	fail := u.flakyFails()
	u.round++
	round := u.round
	u.mu.Unlock()
	if fail {
		http.Error(w, u.name+" failed this list (simulated flakiness)", http.StatusInternalServerError)
		return
	}
	items := make([]listItem, 0, 20)
	for i := 0; i < 20; i++ {
		id := u.seed*1000 + (round*2+i)%40
		items = append(items, listItem{ID: id, Version: (round + i) / 5})
	}
	writeJSON(w, items)
}

// flakyFails decides whether this list fails under fault.flaky: failures
// accrue at the flaky share and fall due once a whole one has accrued, as
// long as the last list did not fail. So 0.5 fails every other list, 0.2
// every fifth, and no two fail in a row. u.mu must be held.
func (u *upstream) flakyFails() bool {
	if u.fault.flaky <= 0 {
		return false
	}
	u.owed += u.fault.flaky
	if u.owed >= 1-1e-9 && !u.failed { // the tolerance absorbs rounding of the sum
		u.owed--
		u.failed = true
		return true
	}
	u.failed = false
	return false
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
