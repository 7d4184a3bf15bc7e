package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// standIn is a stand-in served in-process on a clock the test moves.
type standIn struct {
	u   *upstream
	mu  sync.Mutex
	now time.Time
}

var upstreamEpoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newStandIn(name string, f fault) *standIn {
	s := &standIn{now: upstreamEpoch}
	s.u = newUpstream(name, 1, f, func() time.Time {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.now
	})
	return s
}

func (s *standIn) advance(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}

// do serves one request with the given headers ("Name: value").
func (s *standIn) do(method, target string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.u.handler.ServeHTTP(w, r)
	return w
}

// get serves a GET that carries the service's credentials, as the syncer
// sends them.
func (s *standIn) get(target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	authorize(r, s.u.name)
	w := httptest.NewRecorder()
	s.u.handler.ServeHTTP(w, r)
	return w
}

type tmdbError struct {
	StatusCode    *int    `json:"status_code"`
	StatusMessage *string `json:"status_message"`
	Success       *bool   `json:"success"`
}

func decodeTMDbError(t *testing.T, w *httptest.ResponseRecorder) tmdbError {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e tmdbError
	if err := decodeStrict(w.Body.String(), &e); err != nil {
		t.Fatalf("body is not TMDb's error JSON: %v", err)
	}
	if e.StatusCode == nil || e.StatusMessage == nil || e.Success == nil {
		t.Fatalf("body misses a field: %+v", e)
	}
	return e
}

func TestStandInsAskForCredentials(t *testing.T) {
	for _, tc := range []struct {
		name    string
		service string
		method  string
		target  string
		headers []string
		want    int
	}{
		{"tmdb root without key", "tmdb", "GET", "/", nil, http.StatusUnauthorized},
		{"tmdb list without key", "tmdb", "GET", "/list", nil, http.StatusUnauthorized},
		{"tmdb wrong api_key", "tmdb", "GET", "/list?api_key=nope", nil, http.StatusUnauthorized},
		{"tmdb wrong bearer", "tmdb", "GET", "/list", []string{"Authorization: Bearer nope"}, http.StatusUnauthorized},
		{"tmdb api_key", "tmdb", "GET", "/list?api_key=" + tmdbAPIKey, nil, http.StatusOK},
		{"tmdb bearer", "tmdb", "GET", "/list", []string{"Authorization: Bearer " + tmdbReadToken}, http.StatusOK},
		{"trakt root without key", "trakt", "GET", "/", nil, http.StatusUnauthorized},
		{"trakt list without key", "trakt", "GET", "/list", nil, http.StatusUnauthorized},
		{"trakt wrong key", "trakt", "GET", "/list", []string{"trakt-api-key: nope"}, http.StatusForbidden},
		{"trakt key", "trakt", "GET", "/list", []string{"trakt-api-key: " + traktClientID, "trakt-api-version: 2"}, http.StatusOK},
		{"plex root without token", "plex", "GET", "/", nil, http.StatusUnauthorized},
		{"plex identity without token", "plex", "GET", "/identity", nil, http.StatusOK},
		{"plex token header", "plex", "GET", "/list", []string{"X-Plex-Token: " + plexToken}, http.StatusOK},
		{"plex token query", "plex", "GET", "/list?X-Plex-Token=" + plexToken, nil, http.StatusOK},
		{"imdb root is public", "imdb", "GET", "/", nil, http.StatusOK},
		{"imdb list is public", "imdb", "GET", "/list", nil, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newStandIn(tc.service, fault{}).do(tc.method, tc.target, tc.headers...)
			if w.Code != tc.want {
				t.Fatalf("status = %d, want %d; body %q", w.Code, tc.want, w.Body)
			}
			if tc.service == "tmdb" && w.Code == http.StatusUnauthorized {
				e := decodeTMDbError(t, w)
				if *e.StatusCode != 7 || *e.StatusMessage != "Invalid API key: You must be granted a valid key." || *e.Success {
					t.Errorf("body = %+v, want TMDb's status_code 7", e)
				}
			}
		})
	}
}

// TestSyncerIsAuthorized: the syncer's requests pass every stand-in.
func TestSyncerIsAuthorized(t *testing.T) {
	for _, name := range services {
		s := newStandIn(name, fault{})
		for _, path := range []string{"/list", "/movie/1001"} {
			if w := s.get(path); w.Code != http.StatusOK {
				t.Errorf("%s %s: status %d, want 200", name, path, w.Code)
			}
		}
	}
}

func TestTMDbCeiling(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tight bool
		limit int
	}{
		{"published", false, 40},
		{"tight", true, tightTMDbRate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStandIn("tmdb", fault{rateLimit: tc.tight})
			for i := range tc.limit {
				if w := s.get("/movie/1"); w.Code != http.StatusOK {
					t.Fatalf("request %d: status %d, want 200 within the ceiling", i+1, w.Code)
				}
			}
			w := s.get("/movie/1")
			if w.Code != http.StatusTooManyRequests {
				t.Fatalf("request %d: status %d, want 429", tc.limit+1, w.Code)
			}
			if got := w.Header().Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After = %q, want 1", got)
			}
			e := decodeTMDbError(t, w)
			want := "Your request count (#) is over the allowed limit of (" + strconv.Itoa(tc.limit) + ")."
			if *e.StatusCode != 25 || *e.StatusMessage != want || *e.Success {
				t.Errorf("body = {%d %q %v}, want {25 %q false}", *e.StatusCode, *e.StatusMessage, *e.Success, want)
			}

			// The bucket refills at the ceiling's rate: one request's worth
			// after 1/limit s, all of it after 1 s.
			s.advance(time.Second / time.Duration(tc.limit))
			if w := s.get("/movie/1"); w.Code != http.StatusOK {
				t.Errorf("after 1/%d s: status %d, want 200", tc.limit, w.Code)
			}
			if w := s.get("/movie/1"); w.Code != http.StatusTooManyRequests {
				t.Errorf("second request after 1/%d s: status %d, want 429", tc.limit, w.Code)
			}
			s.advance(time.Second)
			for i := range tc.limit {
				if w := s.get("/movie/1"); w.Code != http.StatusOK {
					t.Fatalf("after 1 s, request %d: status %d, want 200", i+1, w.Code)
				}
			}
		})
	}
}

func TestTMDbRetryAfterRoundsUp(t *testing.T) {
	for _, tc := range []struct {
		wait time.Duration
		want string
	}{
		{0, "1"},
		{time.Millisecond, "1"},
		{time.Second, "1"},
		{1001 * time.Millisecond, "2"},
		{299 * time.Second, "299"},
	} {
		if got := retryAfterSeconds(tc.wait); got != tc.want {
			t.Errorf("retryAfterSeconds(%v) = %q, want %q", tc.wait, got, tc.want)
		}
	}
}

func decodeTraktRateLimit(t *testing.T, w *httptest.ResponseRecorder) traktRateLimit {
	t.Helper()
	h := w.Header().Get("X-Ratelimit")
	if h == "" {
		t.Fatal("no X-Ratelimit header")
	}
	var rl traktRateLimit
	if err := decodeStrict(h, &rl); err != nil {
		t.Fatalf("X-Ratelimit %q: %v", h, err)
	}
	return rl
}

// decodeStrict decodes the JSON object s into v, refusing unknown fields.
func decodeStrict(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func TestTraktWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tight  bool
		limit  int
		period time.Duration
	}{
		{"published", false, 1000, 5 * time.Minute},
		{"tight", true, tightTraktGETs, tightTraktPeriod},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStandIn("trakt", fault{rateLimit: tc.tight})
			until := upstreamEpoch.Add(tc.period).Format(time.RFC3339)
			step := tc.period / time.Duration(2*tc.limit) // the whole budget in half a window
			for i := range tc.limit {
				w := s.get("/movie/1")
				if w.Code != http.StatusOK {
					t.Fatalf("call %d: status %d, want 200 within the budget", i+1, w.Code)
				}
				want := traktRateLimit{Name: "UNAUTHED_API_GET_LIMIT", Period: int(tc.period / time.Second),
					Limit: tc.limit, Remaining: tc.limit - i - 1, Until: until}
				if rl := decodeTraktRateLimit(t, w); rl != want {
					t.Fatalf("call %d: X-Ratelimit = %+v, want %+v", i+1, rl, want)
				}
				s.advance(step)
			}

			// Over the budget: 429 until the window ends, Retry-After the
			// rest of the window.
			w := s.get("/movie/1")
			if w.Code != http.StatusTooManyRequests {
				t.Fatalf("call %d: status %d, want 429", tc.limit+1, w.Code)
			}
			if rl := decodeTraktRateLimit(t, w); rl.Remaining != 0 || rl.Until != until {
				t.Errorf("X-Ratelimit = %+v, want remaining 0 until %s", rl, until)
			}
			wantRetry := strconv.Itoa(int((tc.period / 2).Seconds()))
			if got := w.Header().Get("Retry-After"); got != wantRetry {
				t.Errorf("Retry-After = %q, want %s (the rest of the window)", got, wantRetry)
			}
			s.advance(tc.period/2 - time.Millisecond)
			if w := s.get("/movie/1"); w.Code != http.StatusTooManyRequests {
				t.Errorf("just before the window ends: status %d, want 429", w.Code)
			} else if got := w.Header().Get("Retry-After"); got != "1" {
				t.Errorf("just before the window ends: Retry-After = %q, want 1", got)
			}

			// A new window: the whole budget again.
			s.advance(time.Millisecond)
			w = s.get("/movie/1")
			if w.Code != http.StatusOK {
				t.Fatalf("new window: status %d, want 200", w.Code)
			}
			next := upstreamEpoch.Add(tc.period).Add(tc.period).Format(time.RFC3339)
			if rl := decodeTraktRateLimit(t, w); rl.Remaining != tc.limit-1 || rl.Until != next {
				t.Errorf("new window: X-Ratelimit = %+v, want remaining %d until %s", rl, tc.limit-1, next)
			}
		})
	}
}

func TestTraktWritesOnePerSecond(t *testing.T) {
	s := newStandIn("trakt", fault{})
	key := []string{"trakt-api-key: " + traktClientID, "trakt-api-version: 2"}
	// The demo has no write route: a counted write is then refused 405.
	if w := s.do(http.MethodPost, "/list", key...); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("first POST: status %d, want 405 after the limit passed it", w.Code)
	}
	w := s.do(http.MethodPost, "/list", key...)
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("second POST in the same second: status %d, want 429", w.Code)
	}
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if rl := decodeTraktRateLimit(t, w); rl.Name != "AUTHED_API_POST_LIMIT" || rl.Period != 1 || rl.Limit != 1 || rl.Remaining != 0 {
		t.Errorf("X-Ratelimit = %+v, want AUTHED_API_POST_LIMIT 1/1 s, none remaining", rl)
	}
	// Writes do not spend the GET budget.
	if w := s.get("/list"); w.Code != http.StatusOK || decodeTraktRateLimit(t, w).Remaining != traktGETs-1 {
		t.Errorf("GET after writes: status %d, X-Ratelimit %s", w.Code, w.Header().Get("X-Ratelimit"))
	}
	s.advance(time.Second)
	if w := s.do(http.MethodPost, "/list", key...); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST a second later: status %d, want 405", w.Code)
	}
}

// TestStandInsFail: -fail is an outage, for probes and syncs alike, before
// credentials or limits are looked at; with -fail-for it heals.
func TestStandInsFail(t *testing.T) {
	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			s := newStandIn(name, fault{fail: true, failUntil: upstreamEpoch.Add(time.Minute), rateLimit: true})
			for _, w := range []*httptest.ResponseRecorder{s.do("GET", "/"), s.get("/list"), s.get("/movie/1")} {
				if w.Code != http.StatusInternalServerError {
					t.Errorf("status %d, want 500", w.Code)
				}
				if w.Header().Get("Retry-After") != "" || w.Header().Get("X-Ratelimit") != "" {
					t.Errorf("an outage announces a rate limit: %v", w.Header())
				}
			}
			s.advance(time.Minute)
			if w := s.get("/list"); w.Code != http.StatusOK {
				t.Errorf("after -fail-for: status %d, want 200", w.Code)
			}
		})
	}
	s := newStandIn("tmdb", fault{fail: true}) // for ever
	s.advance(24 * time.Hour)
	if w := s.get("/list"); w.Code != http.StatusInternalServerError {
		t.Errorf("-fail without -fail-for: status %d after a day, want 500", w.Code)
	}
}

// TestStandInsHealthURL: a probe of each stand-in's health URL, without
// credentials, gets an answer below 500: the healthcheck counts the service
// up.
func TestStandInsHealthURL(t *testing.T) {
	want := map[string]int{"imdb": 200, "tmdb": 401, "trakt": 401, "plex": 200}
	for _, name := range services {
		u, err := startUpstream(name, 1, fault{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(u.healthURL())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want[name] {
			t.Errorf("%s %s: status %d, want %d", name, u.healthURL(), resp.StatusCode, want[name])
		}
		if err := u.close(t.Context()); err != nil {
			t.Error(err)
		}
	}
}

// TestStandInsLimitOnlyAuthorized: a probe without credentials is refused
// before it is counted, so probes neither spend the budget nor see 429.
func TestStandInsLimitOnlyAuthorized(t *testing.T) {
	for _, name := range []string{"tmdb", "trakt"} {
		s := newStandIn(name, fault{rateLimit: true})
		for range 100 {
			if w := s.do("GET", "/"); w.Code != http.StatusUnauthorized {
				t.Fatalf("%s probe: status %d, want 401", name, w.Code)
			}
		}
		if w := s.get("/list"); w.Code != http.StatusOK {
			t.Errorf("%s: first authorized call after 100 probes: status %d, want 200", name, w.Code)
		}
	}
}

// A -flaky stand-in fails its share of lists, spread evenly and never two
// in a row, and serves everything else: its health URL and its movies.
func TestStandInFlaky(t *testing.T) {
	for _, tc := range []struct {
		ratio float64
		want  int // failed lists of 100
	}{{0.5, 50}, {0.2, 20}, {0.3, 30}} {
		s := newStandIn("imdb", fault{flaky: tc.ratio})
		failed, inARow := 0, 0
		for i := range 100 {
			switch w := s.get("/list"); w.Code {
			case http.StatusInternalServerError:
				failed++
				if inARow++; inARow > 1 {
					t.Errorf("ratio %v: lists %d and %d both failed", tc.ratio, i-1, i)
				}
			case http.StatusOK:
				inARow = 0
			default:
				t.Fatalf("ratio %v: list %d: status %d", tc.ratio, i, w.Code)
			}
			if w := s.get("/"); w.Code != http.StatusOK { // imdb's health URL
				t.Fatalf("ratio %v: health probe %d", tc.ratio, w.Code)
			}
			if w := s.get("/movie/7"); w.Code != http.StatusOK {
				t.Fatalf("ratio %v: movie %d", tc.ratio, w.Code)
			}
		}
		if failed != tc.want {
			t.Errorf("ratio %v: %d of 100 lists failed, want %d", tc.ratio, failed, tc.want)
		}
	}
}
