package otelmon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/listsync/otelmon/breaker"
)

// The status JSON serves each source's last success twice, in
// "lastSuccessfulSync" and in its "syncs" entry, from one reading: the two
// agree, and a source that never succeeded is in neither.
func TestStatusLastSuccessHasOneSource(t *testing.T) {
	m, clk := newTestMonitor(t, DefaultConfig())
	ctx := context.Background()
	m.RecordSyncOperation(ctx, "imdb", true, time.Second, 1, 0, 1)
	clk.Advance(time.Minute)
	m.RecordSyncOperation(ctx, "imdb", false, time.Second, 0, 0, 0)
	m.RecordSyncOperation(ctx, "tmdb", false, time.Second, 0, 0, 0)

	st := m.Status()
	body, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		LastSuccessfulSync map[string]time.Time `json:"lastSuccessfulSync"`
		Syncs              []struct {
			Source      string    `json:"source"`
			LastSuccess time.Time `json:"lastSuccess"`
			LastRun     time.Time `json:"lastRun"`
		} `json:"syncs"`
		StartedAt time.Time `json:"startedAt"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	wantImdb := time.Unix(1_700_000_000, 0).UTC()
	if len(doc.LastSuccessfulSync) != 1 || !doc.LastSuccessfulSync["imdb"].Equal(wantImdb) {
		t.Fatalf("lastSuccessfulSync = %v, want only imdb at %v", doc.LastSuccessfulSync, wantImdb)
	}
	if len(doc.Syncs) != 2 {
		t.Fatalf("syncs = %+v", doc.Syncs)
	}
	for _, s := range doc.Syncs {
		if got, ok := doc.LastSuccessfulSync[s.Source]; ok != !s.LastSuccess.IsZero() || !got.Equal(s.LastSuccess) {
			t.Errorf("%s: syncs[] says %v, lastSuccessfulSync says %v", s.Source, s.LastSuccess, got)
		}
	}
	if doc.StartedAt.IsZero() || !doc.Syncs[0].LastRun.After(doc.Syncs[0].LastSuccess) {
		t.Errorf("other fields lost in encoding: %s", body)
	}
	if got := st.LastSuccessfulSync(); len(got) != 1 || !got["imdb"].Equal(wantImdb) {
		t.Errorf("Status.LastSuccessfulSync() = %v", got)
	}
}

// A Status without syncs encodes the map as {}, never null, as before.
func TestStatusJSONEmptyMap(t *testing.T) {
	body, err := json.Marshal(Status{})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if string(doc["lastSuccessfulSync"]) != "{}" {
		t.Fatalf("lastSuccessfulSync = %s", doc["lastSuccessfulSync"])
	}
}

// An open breaker says when it lets trial calls through again; a closed
// one has no retryAt in its JSON.
func TestStatusBreakerRetryAt(t *testing.T) {
	m, clk := newTestMonitor(t, DefaultConfig(), WithBreakerOptions(breaker.WithOpenTimeoutOverride(90*time.Second)))
	ctx := context.Background()
	for _, name := range []string{"imdb", "tmdb"} {
		if _, err := m.breakers.Get(name); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := m.breakers.Get("imdb")
	for b.Stats().State != breaker.Open {
		_ = b.Execute(ctx, func(context.Context) error { return errors.New("500") })
	}
	opened := clk.Now()
	clk.Advance(10 * time.Second)
	body, err := json.Marshal(m.Status())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		CircuitBreakers []map[string]any `json:"circuitBreakers"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, cb := range doc.CircuitBreakers {
		retry, has := cb["retryAt"].(string)
		switch cb["service"] {
		case "imdb":
			if want := opened.Add(90 * time.Second).UTC().Format(time.RFC3339Nano); !has || retry != want {
				t.Errorf("open imdb: retryAt %v, want %s", cb["retryAt"], want)
			}
		case "tmdb":
			if has {
				t.Errorf("closed tmdb has retryAt %s", retry)
			}
		}
	}
	clk.Advance(80 * time.Second) // the open period is over: half-open, no retryAt
	for _, cb := range m.Status().CircuitBreakers {
		if cb.Service == "imdb" && (cb.State != "half-open" || !cb.RetryAt.IsZero()) {
			t.Errorf("after the open period: %s, retryAt %v; want half-open and none", cb.State, cb.RetryAt)
		}
	}
}

// Each service's pacing says how many of its requests were answered 429
// in the last hour.
func TestStatusRateLimitedLastHour(t *testing.T) {
	srv := statusServer(t) // its 429s ask for 30 s
	cfg := DefaultConfig()
	cfg.RateLimits = map[string]RateLimit{"tmdb": {MaxAttempts: 1}}
	m, clk := newTestMonitor(t, cfg)
	c := m.HTTPClient("tmdb")
	throttled := func(n int) {
		for range n {
			if code := doGet(t, c, srv.URL+"/429"); code != http.StatusTooManyRequests {
				t.Fatalf("GET /429: %d", code)
			}
			clk.Advance(31 * time.Second) // past the pause it asked for
		}
	}
	throttled(3)
	m.hist.Collect(clk.Now())
	clk.Advance(61 * time.Minute)
	m.hist.Collect(clk.Now())
	throttled(2)
	got := map[string]uint64{}
	for _, rl := range m.Status().RateLimits {
		got[rl.Service] = rl.RateLimitedLastHour
	}
	if n, ok := got["tmdb"]; !ok || n != 2 {
		t.Errorf("429s in the last hour: %v, want tmdb 2 (3 more were 61 minutes ago)", got)
	}
}
