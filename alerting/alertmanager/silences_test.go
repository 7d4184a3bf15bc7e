package alertmanager

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/silence"
	"github.com/listsync/otelmon/internal/clock"
)

// recorder is a notifier that records what it is told: the webhook, chat
// or custom notifier the cluster's silences mute.
type recorder struct {
	mu  sync.Mutex
	got []alerting.Alert
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Notify(_ context.Context, a alerting.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, a)
	return nil
}

// firings returns how many firing notices it got.
func (r *recorder) firings() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.got {
		if a.State == alerting.Firing {
			n++
		}
	}
	return n
}

// instance is one process of a fleet: an engine sending to the members of
// the cluster (as Prometheus sends to every member) and to a recorder,
// with the service imdb down.
type instance struct {
	eng *alerting.Engine
	rec *recorder
	clk *clock.Fake
}

const testRefresh = 15 * time.Second

func startInstance(t *testing.T, clk *clock.Fake, name string, members []string, cfg alerting.Config) *instance {
	t.Helper()
	in := &instance{rec: &recorder{}, clk: clk}
	// One attempt per notification: a retry would wait on the fake clock.
	cfg.Delivery.MaxAttempts = 1
	opts := []alerting.Option{alerting.WithClock(clk), alerting.WithNotifier(in.rec),
		alerting.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}
	for i, u := range members {
		n, err := New(u, WithName("am-"+string(rune('a'+i))), WithClock(clk), WithExternalLabels(map[string]string{"instance": name, "job": "listsync"}))
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, alerting.WithNotifier(n))
	}
	eng, err := alerting.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	in.eng = eng
	ctx := context.Background()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(eng.Reader()))
	t.Cleanup(func() {
		if err := eng.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		_ = mp.Shutdown(ctx)
	})
	if err := eng.AddRule(alerting.DefaultRules()[3]); err != nil { // service_down
		t.Fatal(err)
	}
	up, _ := mp.Meter("test").Int64Gauge("radarr_list_sync_service_up")
	up.Record(ctx, 0, metric.WithAttributes(attribute.String("service", "imdb")))
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return in
}

// evaluate evaluates the rules and returns the service_down alert.
func (in *instance) evaluate(t *testing.T) alerting.Alert {
	t.Helper()
	if err := in.eng.Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, a := range in.eng.Active() {
		if a.Rule == alerting.RuleServiceDown {
			return a
		}
	}
	t.Fatalf("no service_down alert among %+v", in.eng.Active())
	return alerting.Alert{}
}

// poll waits until cond holds, failing the test after a deadline.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// refreshUntil advances the fake clock by the refresh interval until cond
// holds, failing the test after a deadline: the refresh goroutine fetches
// at each advance that finds it waiting, and one that finds it fetching
// (at the start, or after an advance before) only moves the time on.
func (in *instance) refreshUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out refreshing: %s", what)
		}
		in.clk.Advance(testRefresh)
		time.Sleep(10 * time.Millisecond)
	}
}

func silencedBy(a alerting.Alert, id string) bool { return slices.Equal(a.SilencedBy, []string{id}) }

// A silence made through one instance is the cluster's: the other lists
// it, and it mutes that one's other notifiers by the labels Alertmanager
// gets (instance included); expired through the other, its notifiers hear
// of the alert again.
func TestClusterSilencesAcrossInstances(t *testing.T) {
	clk := clock.NewFake(now)
	cluster := newAMCluster(clk.Now)
	members := []string{cluster.member(t, 0), cluster.member(t, 1)}
	a := startInstance(t, clk, "a", members, alerting.Config{})
	b := startInstance(t, clk, "b", members, alerting.Config{})
	if src := alerting.SilenceSourceOf(b.eng); !src.Alertmanager {
		t.Fatalf("SilenceSource = %+v with alertmanager notifiers", src)
	}
	alert := b.evaluate(t)
	poll(t, "b's recorder hears the firing", func() bool { return b.rec.firings() == 1 })

	// By instance: the label the notifier adds, which the alert's own
	// labels do not have.
	s, err := a.eng.CreateSilence(alerting.Silence{
		Matchers: []alerting.Matcher{{Name: "alertname", Value: alerting.RuleServiceDown}, {Name: "instance", Value: "b"}},
		EndsAt:   now.Add(time.Hour), CreatedBy: "alice", Comment: "imdb maintenance",
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == "" || s.Status.State != alerting.SilenceActive || s.CreatedBy != "alice" {
		t.Fatalf("created %+v", s)
	}
	if got, ok := a.eng.Silence(s.ID); !ok || got.ID != s.ID {
		t.Fatalf("a lists %+v, %v right after creating it", got, ok)
	}
	b.refreshUntil(t, "b lists the silence", func() bool { _, ok := b.eng.Silence(s.ID); return ok })
	if got, ok := b.eng.Silence(s.ID); !ok || got.Status.State != alerting.SilenceActive || got.Comment != "imdb maintenance" {
		t.Fatalf("b lists %+v, %v", got, ok)
	}
	if got, _ := b.eng.Alert(alert.ID); !silencedBy(got, s.ID) {
		t.Fatalf("b's alert silenced by %v, want [%s]", got.SilencedBy, s.ID)
	}
	if got := a.evaluate(t); got.SilencedBy != nil {
		t.Fatalf("a's alert (instance a) silenced by %v", got.SilencedBy)
	}

	// Expired through b, which fetches at once: its recorder hears the
	// alert again, the firing the silence kept from it.
	exp, err := b.eng.ExpireSilence(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Status.State != alerting.SilenceExpired {
		t.Fatalf("expired %+v", exp)
	}
	poll(t, "b's recorder hears the alert again", func() bool { return b.rec.firings() == 2 })
	if got, _ := b.eng.Alert(alert.ID); got.SilencedBy != nil {
		t.Fatalf("b's alert still silenced by %v", got.SilencedBy)
	}
	a.refreshUntil(t, "a lists the silence expired", func() bool {
		got, _ := a.eng.Silence(s.ID)
		return got.Status.State == alerting.SilenceExpired
	})
	if got, ok := a.eng.Silence(s.ID); !ok || got.Status.State != alerting.SilenceExpired {
		t.Fatalf("a lists %+v, %v after b expired it", got, ok)
	}
	// Expiring it again changes nothing, as in-process.
	if again, err := a.eng.ExpireSilence(s.ID); err != nil || again.Status.State != alerting.SilenceExpired {
		t.Fatalf("expired again: %+v, %v", again, err)
	}
	if _, err := a.eng.ExpireSilence("6a0b4a4e-0000-4000-8000-000000000000"); !errors.Is(err, alerting.ErrSilenceNotFound) {
		t.Fatalf("expire unknown: %v, want ErrSilenceNotFound", err)
	}
}

// An alert that starts firing under a cluster silence reaches the
// Alertmanager members at once, which apply the silence themselves, but
// not the other notifiers, until the silence ends.
func TestClusterSilencedAlertReachesTheMembers(t *testing.T) {
	clk := clock.NewFake(now)
	cluster := newAMCluster(clk.Now)
	a := startInstance(t, clk, "a", []string{cluster.member(t, 0)}, alerting.Config{})
	s, err := a.eng.CreateSilence(alerting.Silence{
		Matchers: []alerting.Matcher{{Name: "alertname", Value: alerting.RuleServiceDown}},
		EndsAt:   now.Add(time.Hour), CreatedBy: "alice", Comment: "known outage",
	})
	if err != nil {
		t.Fatal(err)
	}
	if alert := a.evaluate(t); !silencedBy(alert, s.ID) {
		t.Fatalf("alert silenced by %v, want [%s]", alert.SilencedBy, s.ID)
	}
	poll(t, "the member gets the silenced alert", func() bool { return cluster.postedFiring(alerting.RuleServiceDown) > 0 })
	if n := a.rec.firings(); n != 0 {
		t.Fatalf("the recorder heard %d firings under the silence", n)
	}
	if _, err := a.eng.ExpireSilence(s.ID); err != nil {
		t.Fatal(err)
	}
	poll(t, "the recorder hears the alert once the silence ends", func() bool { return a.rec.firings() == 1 })
}

// SilenceAlert makes a fleet silence: the alert's labels as Alertmanager
// gets them but instance, so that it mutes the same alert elsewhere.
func TestClusterSilenceAlertMutesTheFleet(t *testing.T) {
	clk := clock.NewFake(now)
	cluster := newAMCluster(clk.Now)
	members := []string{cluster.member(t, 0)}
	a := startInstance(t, clk, "a", members, alerting.Config{})
	b := startInstance(t, clk, "b", members, alerting.Config{})
	alertA, alertB := a.evaluate(t), b.evaluate(t)
	s, err := a.eng.SilenceAlert(alertA.ID, time.Hour, "status page", "known outage")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range s.Matchers {
		names = append(names, m.Name+"="+m.Value)
	}
	if want := []string{"alertname=service_down", "job=listsync", "service=imdb"}; !slices.Equal(names, want) {
		t.Fatalf("matchers %q, want %q", names, want)
	}
	b.refreshUntil(t, "b's alert silenced", func() bool { got, _ := b.eng.Alert(alertB.ID); return silencedBy(got, s.ID) })
	if got, _ := b.eng.Alert(alertB.ID); !silencedBy(got, s.ID) {
		t.Fatalf("b's alert silenced by %v, want [%s]", got.SilencedBy, s.ID)
	}
}

// The members are tried in order, the first that answers wins; with none
// answering, a change is ErrSilencesUnavailable and nothing else, and the
// list fetched last keeps muting until each silence ends, the source
// saying since when it is stale.
func TestClusterUnavailable(t *testing.T) {
	clk := clock.NewFake(now)
	cluster := newAMCluster(clk.Now)
	members := []string{cluster.member(t, 0), cluster.member(t, 1)}
	b := startInstance(t, clk, "b", members, alerting.Config{})
	alert := b.evaluate(t)
	poll(t, "the firing", func() bool { return b.rec.firings() == 1 })

	cluster.setDown(0, true)
	before := cluster.requestsTo(1)
	s, err := b.eng.CreateSilence(alerting.Silence{Matchers: []alerting.Matcher{{Name: "service", Value: "imdb"}}, EndsAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("with the first member down: %v", err)
	}
	if cluster.requestsTo(1) == before {
		t.Fatal("the second member was not asked")
	}
	if got, _ := b.eng.Alert(alert.ID); !silencedBy(got, s.ID) {
		t.Fatalf("silenced by %v at once, want [%s]", got.SilencedBy, s.ID)
	}

	cluster.setDown(1, true)
	_, err = b.eng.CreateSilence(alerting.Silence{Matchers: []alerting.Matcher{{Name: "service", Value: "tmdb"}}, EndsAt: now.Add(time.Hour)})
	if !errors.Is(err, alerting.ErrSilencesUnavailable) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("create with no member up: %v, want ErrSilencesUnavailable with the members' answers", err)
	}
	if _, err := b.eng.ExpireSilence(s.ID); !errors.Is(err, alerting.ErrSilencesUnavailable) {
		t.Fatalf("expire with no member up: %v", err)
	}
	b.refreshUntil(t, "the list stale", func() bool { return !alerting.SilenceSourceOf(b.eng).StaleSince.IsZero() })
	src := alerting.SilenceSourceOf(b.eng)
	if src.StaleSince.IsZero() || src.Error == "" || src.FetchedAt.After(src.StaleSince) {
		t.Fatalf("source %+v: want stale since the failed fetch, with its error", src)
	}
	if strings.Contains(src.Error, "/api/v2") {
		t.Errorf("source error names a path: %s", src.Error)
	}
	if got := b.evaluate(t); !silencedBy(got, s.ID) || b.rec.firings() != 1 {
		t.Fatalf("stale: silenced by %v, %d firings; want the fetched silence to mute", got.SilencedBy, b.rec.firings())
	}
	// Past its end, the fetched silence mutes no more.
	clk.Advance(time.Hour)
	if got := b.evaluate(t); got.SilencedBy != nil {
		t.Fatalf("silenced by %v after the silence's end", got.SilencedBy)
	}
	poll(t, "the owed firing after the silence ended", func() bool { return b.rec.firings() == 2 })

	// The cluster answers again: the list is fresh.
	cluster.setDown(0, false)
	b.refreshUntil(t, "the list fresh", func() bool { return alerting.SilenceSourceOf(b.eng).StaleSince.IsZero() })
	if src := alerting.SilenceSourceOf(b.eng); !src.StaleSince.IsZero() || src.Error != "" {
		t.Fatalf("source %+v after the cluster answered again", src)
	}
}

// A member that does not answer costs at most Delivery.Timeout per
// request.
func TestClusterRequestTimeout(t *testing.T) {
	clk := clock.NewFake(now)
	cluster := newAMCluster(clk.Now)
	cluster.hang = true
	members := []string{cluster.member(t, 0), cluster.member(t, 1)}
	const timeout = 100 * time.Millisecond
	b := startInstance(t, clk, "b", members, alerting.Config{Delivery: alerting.DeliveryConfig{Timeout: timeout, MaxAttempts: 1}})
	began := time.Now()
	_, err := b.eng.CreateSilence(alerting.Silence{Matchers: []alerting.Matcher{{Name: "service", Value: "imdb"}}, EndsAt: now.Add(time.Hour)})
	took := time.Since(began)
	if !errors.Is(err, alerting.ErrSilencesUnavailable) {
		t.Fatalf("create against hanging members: %v", err)
	}
	if took < 2*timeout || took > 2*timeout+5*time.Second {
		t.Fatalf("create took %v against two hanging members, want about 2×%v", took, timeout)
	}
	t.Logf("figure: two hanging members cost a create %v with a %v timeout", took.Round(time.Millisecond), timeout)
}

// What the cluster answers is held to the bounds of Config.Silences: more
// live silences than MaxSilences fail the fetch (the list kept stays), a
// silence beyond a size bound is ignored and counted.
func TestClusterFetchBounds(t *testing.T) {
	clk := clock.NewFake(now)
	cluster := newAMCluster(clk.Now)
	members := []string{cluster.member(t, 0)}
	b := startInstance(t, clk, "b", members, alerting.Config{Silences: alerting.SilenceConfig{MaxSilences: 2, MaxMatchers: 2}})
	create := func(ms ...alerting.Matcher) {
		t.Helper()
		if _, err := b.eng.CreateSilence(alerting.Silence{Matchers: ms, EndsAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	create(alerting.Matcher{Name: "service", Value: "imdb"})
	// Made elsewhere in the cluster, beyond MaxMatchers here.
	cluster.mu.Lock()
	cluster.silences = append(cluster.silences, gettableSilence{ID: "6a0b4a4e-0000-4000-8000-000000000001", EndsAt: now.Add(time.Hour), StartsAt: now,
		Matchers: []silence.MatcherJSON{eqJSON("a", "1"), eqJSON("b", "2"), eqJSON("c", "3")}})
	cluster.mu.Unlock()
	b.refreshUntil(t, "the silence fetched and ignored", func() bool { return alerting.SilenceSourceOf(b.eng).Ignored == 1 })
	if src := alerting.SilenceSourceOf(b.eng); src.Ignored != 1 || !src.StaleSince.IsZero() {
		t.Fatalf("source %+v: want one silence ignored", src)
	}
	if n := len(b.eng.Silences()); n != 1 {
		t.Fatalf("%d silences listed, want the one kept", n)
	}
	// A silence beyond a bound is refused before it reaches the cluster.
	asked := cluster.requestsTo(0)
	if _, err := b.eng.CreateSilence(alerting.Silence{Matchers: []alerting.Matcher{{Name: "service", Value: "plex"}}, EndsAt: now.Add(time.Hour),
		Comment: strings.Repeat("x", alerting.DefaultMaxSilenceSize)}); !errors.Is(err, alerting.ErrSilenceTooLarge) || cluster.requestsTo(0) != asked {
		t.Fatalf("silence beyond MaxSize: %v, %d requests to the cluster; want ErrSilenceTooLarge and none", err, cluster.requestsTo(0)-asked)
	}
	// Three live silences in the cluster, where two are the most here:
	// the list is not taken, and the one kept goes on muting.
	create(alerting.Matcher{Name: "service", Value: "tmdb"})
	src := alerting.SilenceSourceOf(b.eng)
	if src.StaleSince.IsZero() || !strings.Contains(src.Error, "MaxSilences") || len(b.eng.Silences()) != 1 {
		t.Fatalf("source %+v with %d silences listed: want the list kept, stale", src, len(b.eng.Silences()))
	}
}

func eqJSON(name, value string) silence.MatcherJSON {
	return alerting.Matcher{Name: name, Value: value}.JSON()
}

// The notifier's requests: the v2 API's shapes and paths under the base
// URL, the credentials from the URL, Alertmanager's answers as typed
// errors, and a bounded answer.
func TestSilenceRequests(t *testing.T) {
	ctx := context.Background()
	type answer struct {
		status int
		body   string
	}
	var (
		mu   sync.Mutex
		got  []string // method, path and body of each request
		auth []string
		next answer
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+string(body))
		auth = append(auth, r.Header.Get("Authorization"))
		a := next
		mu.Unlock()
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	reply := func(status int, body string) {
		mu.Lock()
		defer mu.Unlock()
		next, got = answer{status, body}, nil
	}
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		return got[len(got)-1]
	}
	n := newNotifier(t, strings.Replace(srv.URL, "http://", "http://user:secret@", 1)+"/am")
	s := alerting.Silence{ID: "ignored", Matchers: []alerting.Matcher{{Name: "service", Value: "imdb", Type: alerting.MatchRegexp}},
		StartsAt: now, EndsAt: now.Add(time.Hour), CreatedBy: "alice", Comment: "c"}

	reply(http.StatusOK, `{"silenceID":"6a0b4a4e-0000-4000-8000-000000000001"}`)
	id, err := n.CreateSilence(ctx, s)
	if err != nil || id != "6a0b4a4e-0000-4000-8000-000000000001" {
		t.Fatalf("CreateSilence = %q, %v", id, err)
	}
	const want = `POST /am/api/v2/silences {"matchers":[{"name":"service","value":"imdb","isRegex":true,"isEqual":true}],"startsAt":"2025-03-01T12:05:00Z","endsAt":"2025-03-01T13:05:00Z","createdBy":"alice","comment":"c"}`
	if l := last(); l != want {
		t.Errorf("request\n got %s\nwant %s", l, want)
	}
	if auth[0] != "Basic "+base64.StdEncoding.EncodeToString([]byte("user:secret")) {
		t.Errorf("Authorization = %q", auth[0])
	}

	reply(http.StatusBadRequest, `"silence invalid: at least one matcher must not match the empty string"`)
	_, err = n.CreateSilence(ctx, s)
	var se *alerting.SilenceError
	if !errors.As(err, &se) || !errors.Is(err, alerting.ErrInvalidSilence) || !strings.Contains(se.Reason, "must not match the empty string") {
		t.Fatalf("refused: %v, want a *SilenceError with Alertmanager's reason", err)
	}

	reply(http.StatusOK, `[{"id":"x","status":{"state":"active"},"matchers":[{"name":"a","value":"b","isRegex":false,"isEqual":false,"new":1}],`+
		`"startsAt":"2025-03-01T12:00:00Z","endsAt":"2025-03-01T13:00:00Z","updatedAt":"2025-03-01T12:00:00Z","createdBy":"bob","comment":"k"}]`)
	var list []alerting.Silence
	if err := n.ListSilences(ctx, 1<<20, func(s alerting.Silence) error { list = append(list, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if l := last(); l != "GET /am/api/v2/silences " {
		t.Errorf("request %q", l)
	}
	if len(list) != 1 || list[0].ID != "x" || list[0].Matchers[0] != (alerting.Matcher{Name: "a", Value: "b", Type: alerting.MatchNotEqual}) || list[0].CreatedBy != "bob" {
		t.Fatalf("listed %+v", list)
	}
	if err := n.ListSilences(ctx, 64, func(alerting.Silence) error { return nil }); err == nil || !strings.Contains(err.Error(), "larger than 64 bytes") {
		t.Fatalf("answer beyond the bound: %v", err)
	}
	reply(http.StatusOK, `{"not":"an array"}`)
	if err := n.ListSilences(ctx, 1<<20, func(alerting.Silence) error { return nil }); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("malformed answer: %v", err)
	}

	for _, tc := range []answer{
		{http.StatusNotFound, `"silence not found"`},
		{http.StatusInternalServerError, `"silence not found"`}, // Alertmanager before 0.27
		{http.StatusUnprocessableEntity, `{"code":601,"message":"silenceID in path must be of type uuid"}`},
	} {
		reply(tc.status, tc.body)
		if err := n.ExpireSilence(ctx, "6a0b4a4e-0000-4000-8000-000000000001"); !errors.Is(err, alerting.ErrSilenceNotFound) {
			t.Errorf("expire answered %d %s: %v, want ErrSilenceNotFound", tc.status, tc.body, err)
		}
	}
	if l := last(); l != "DELETE /am/api/v2/silence/6a0b4a4e-0000-4000-8000-000000000001 " {
		t.Errorf("request %q", l)
	}
	reply(http.StatusInternalServerError, `"boom"`)
	err = n.ExpireSilence(ctx, "6a0b4a4e-0000-4000-8000-000000000001")
	if retry, _ := alerting.Retryable(err); !retry || errors.Is(err, alerting.ErrSilenceNotFound) {
		t.Fatalf("a 500: %v, want a retryable failure", err)
	}
	for _, e := range []error{err} {
		if strings.Contains(e.Error(), "secret") || strings.Contains(e.Error(), "/am") {
			t.Errorf("error shows the URL: %v", e)
		}
	}
}
