package healthcheck_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/syncbuf"
)

func TestDefaultTargets(t *testing.T) {
	for _, tc := range []struct {
		name string
		urls map[string]string
		want map[string]string // name → URL, in order of want
		keys []string
	}{
		{
			name: "defaults",
			keys: []string{"imdb", "tmdb", "trakt", "plex"},
			want: map[string]string{
				"imdb": healthcheck.DefaultIMDbURL, "tmdb": healthcheck.DefaultTMDbURL,
				"trakt": healthcheck.DefaultTraktURL, "plex": "",
			},
		},
		{
			name: "overrides and extras",
			urls: map[string]string{
				"tmdb":   "https://api.themoviedb.org/3/configuration?api_key=K",
				"plex":   "http://plex.local:32400/identity",
				"zeta":   "http://zeta.local/",
				"radarr": "http://radarr.local:7878/ping",
			},
			keys: []string{"imdb", "tmdb", "trakt", "plex", "radarr", "zeta"},
			want: map[string]string{
				"imdb": healthcheck.DefaultIMDbURL, "tmdb": "https://api.themoviedb.org/3/configuration?api_key=K",
				"trakt": healthcheck.DefaultTraktURL, "plex": "http://plex.local:32400/identity",
				"radarr": "http://radarr.local:7878/ping", "zeta": "http://zeta.local/",
			},
		},
		{
			name: "empty URL disables a default",
			urls: map[string]string{"imdb": ""},
			keys: []string{"imdb", "tmdb", "trakt", "plex"},
			want: map[string]string{
				"imdb": "", "tmdb": healthcheck.DefaultTMDbURL,
				"trakt": healthcheck.DefaultTraktURL, "plex": "",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := healthcheck.DefaultTargets(tc.urls)
			var names []string
			for _, tg := range got {
				names = append(names, tg.Name)
				if tg.URL != tc.want[tg.Name] {
					t.Errorf("%s URL = %q, want %q", tg.Name, tg.URL, tc.want[tg.Name])
				}
			}
			if !reflect.DeepEqual(names, tc.keys) {
				t.Fatalf("names = %v, want %v", names, tc.keys)
			}
		})
	}
}

func TestAddRejects(t *testing.T) {
	const secret = "SECRETKEY123"
	for _, tc := range []struct {
		name     string
		target   healthcheck.Target
		want     error
		field    string // the *ConfigError's Field, when want is ErrInvalidConfig
		loggedAs string // substring of the log output, if any
	}{
		{name: "empty name", target: healthcheck.Target{URL: "http://a.example/"}, want: healthcheck.ErrInvalidConfig, field: "Target.Name"},
		{name: "blank name", target: healthcheck.Target{Name: "  ", URL: "http://a.example/"}, want: healthcheck.ErrInvalidConfig, field: "Target.Name"},
		{name: "no URL", target: healthcheck.Target{Name: "plex"}, want: healthcheck.ErrNoURL, loggedAs: "target=plex reason=\"no URL configured\""},
		{name: "unparsable URL", target: healthcheck.Target{Name: "x", URL: "http://[::1?api_key=" + secret}, want: healthcheck.ErrInvalidConfig, field: "Target.URL"},
		{name: "ftp scheme", target: healthcheck.Target{Name: "x", URL: "ftp://u:" + secret + "@a.example/?k=" + secret}, want: healthcheck.ErrInvalidConfig, field: "Target.URL"},
		{name: "relative URL", target: healthcheck.Target{Name: "x", URL: "/health?k=" + secret}, want: healthcheck.ErrInvalidConfig, field: "Target.URL"},
		{name: "no host", target: healthcheck.Target{Name: "x", URL: "http:///path"}, want: healthcheck.ErrInvalidConfig, field: "Target.URL"},
		{name: "negative timeout", target: healthcheck.Target{Name: "x", URL: "http://a.example/", Timeout: -time.Second}, want: healthcheck.ErrInvalidConfig, field: "Target.Timeout"},
		{name: "bad status", target: healthcheck.Target{Name: "x", URL: "http://a.example/", ExpectedStatus: []int{200, 99}}, want: healthcheck.ErrInvalidConfig, field: "Target.ExpectedStatus"},
		{name: "bad method", target: healthcheck.Target{Name: "x", URL: "http://a.example/", Method: "GET /"}, want: healthcheck.ErrInvalidConfig, field: "Target.Method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncbuf.Buffer
			c, _ := newChecker(t, healthcheck.Config{}, healthcheck.WithLogger(debugLogger(&logs)))
			err := c.Add(tc.target)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Add() = %v, want %v", err, tc.want)
			}
			var te *healthcheck.TargetError
			if !errors.As(err, &te) || te.Name != tc.target.Name {
				t.Fatalf("Add() = %#v, want *TargetError for %q", err, tc.target.Name)
			}
			var ce *healthcheck.ConfigError
			if got := errors.As(err, &ce); got != (tc.field != "") || got && ce.Field != tc.field {
				t.Errorf("Add() = %v, want a *ConfigError for %q", err, tc.field)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the secret: %v", err)
			}
			if !strings.Contains(logs.String(), tc.loggedAs) {
				t.Errorf("log = %q, want %q", logs.String(), tc.loggedAs)
			}
			if n := len(c.Targets()); n != 0 {
				t.Errorf("%d targets registered after a rejected Add", n)
			}
		})
	}
}

func TestTargetErrorMessage(t *testing.T) {
	c, _ := newChecker(t, healthcheck.Config{})
	for _, tc := range []struct {
		target healthcheck.Target
		want   string
	}{
		{healthcheck.Target{Name: "x", URL: "http://a.example/", Timeout: -time.Second},
			`healthcheck: target "x": invalid health check config: Target.Timeout = -1s: must not be negative`},
		{healthcheck.Target{Name: "x", URL: "ftp://u:SECRET@a.example/?k=SECRET"},
			`healthcheck: target "x": invalid health check config: Target.URL = ftp://xxxxx:xxxxx@a.example/?k=xxxxx: scheme must be http or https`},
		{healthcheck.Target{Name: "plex"}, `healthcheck: target "plex": no URL configured; target skipped`},
	} {
		if err := c.Add(tc.target); err == nil || err.Error() != tc.want {
			t.Errorf("Add(%+v) = %v, want %s", tc.target, err, tc.want)
		}
	}
}

func TestAddDuplicateKeepsFirst(t *testing.T) {
	c, _ := newChecker(t, healthcheck.Config{})
	mustAdd(t, c, healthcheck.Target{Name: "tmdb", URL: "http://first.example/"})
	err := c.Add(healthcheck.Target{Name: "tmdb", URL: "http://second.example/"})
	if !errors.Is(err, healthcheck.ErrDuplicateTarget) {
		t.Fatalf("Add(duplicate) = %v, want ErrDuplicateTarget", err)
	}
	if ts := c.Targets(); len(ts) != 1 || ts[0].URL != "http://first.example/" {
		t.Fatalf("Targets() = %+v", ts)
	}
}

func TestTargetsAreCopies(t *testing.T) {
	c, _ := newChecker(t, healthcheck.Config{})
	h := http.Header{"X-Api-Key": {"a"}}
	mustAdd(t, c, healthcheck.Target{Name: "b", URL: "http://b.example/", Headers: h, ExpectedStatus: []int{200}})
	mustAdd(t, c, healthcheck.Target{Name: "a", URL: "http://a.example/"})
	h.Set("X-Api-Key", "changed")
	ts := c.Targets()
	if ts[0].Name != "a" || ts[1].Name != "b" {
		t.Fatalf("Targets() not sorted: %v, %v", ts[0].Name, ts[1].Name)
	}
	if got := ts[1].Headers.Get("X-Api-Key"); got != "a" {
		t.Fatalf("caller's change reached the Checker: %q", got)
	}
	ts[1].ExpectedStatus[0] = 500
	if got := c.Targets()[1].ExpectedStatus[0]; got != 200 {
		t.Fatalf("Targets() shares its slices: %d", got)
	}
}

func TestRemove(t *testing.T) {
	srv := newSwitchServer(t, http.StatusOK)
	c, _ := newChecker(t, healthcheck.Config{})
	mustAdd(t, c, healthcheck.Target{Name: "a", URL: srv.URL})
	if err := c.Remove("a"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := c.Remove("a"); !errors.Is(err, healthcheck.ErrUnknownTarget) {
		t.Fatalf("second Remove = %v, want ErrUnknownTarget", err)
	}
	if _, ok := c.Status("a"); ok {
		t.Fatal("removed target still has a status")
	}
	if _, err := c.CheckNow(t.Context(), "a"); !errors.Is(err, healthcheck.ErrUnknownTarget) {
		t.Fatalf("CheckNow(removed) = %v, want ErrUnknownTarget", err)
	}
	// The name can be registered again, starting from Unknown.
	mustAdd(t, c, healthcheck.Target{Name: "a", URL: srv.URL})
	if s, ok := c.Status("a"); !ok || s != healthcheck.Unknown {
		t.Fatalf("Status(a) = %v, %v", s, ok)
	}
}

// TestDefaultTargetsWithoutKeys is a fresh install: the default targets are
// API roots that answer without a key as the real services do (TMDb 401 with
// its JSON error body, Trakt 401 without trakt-api-key, a 404 for an unknown
// path), and every one of them is up: it answered.
func TestDefaultTargetsWithoutKeys(t *testing.T) {
	hosts := map[string]int{
		"www.imdb.com":       http.StatusOK,
		"api.themoviedb.org": http.StatusUnauthorized,
		"api.trakt.tv":       http.StatusUnauthorized,
		"plex.local:32400":   http.StatusNotFound,
	}
	srv := newHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(hosts[r.Host])
	})
	base := srv.Client().Transport
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Host = r.URL.Host
		r.URL.Scheme, r.URL.Host = "http", strings.TrimPrefix(srv.URL, "http://")
		return base.RoundTrip(r)
	})}
	c, _ := newChecker(t, healthcheck.Config{}, healthcheck.WithHTTPClient(client))
	for _, tg := range healthcheck.DefaultTargets(map[string]string{"plex": "http://plex.local:32400/library"}) {
		mustAdd(t, c, tg)
	}
	want := map[string]int{"imdb": 200, "tmdb": 401, "trakt": 401, "plex": 404}
	results := c.CheckAll(t.Context())
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d", len(results), len(want))
	}
	for _, res := range results {
		if !res.OK || res.Status != healthcheck.Up || res.StatusCode != want[res.Target] || res.Err != nil {
			t.Errorf("%s: OK=%v status=%v code=%d err=%v, want up with %d",
				res.Target, res.OK, res.Status, res.StatusCode, res.Err, want[res.Target])
		}
	}
}
