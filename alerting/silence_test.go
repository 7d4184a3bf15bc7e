package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting/silence"
	"github.com/listsync/otelmon/internal/names"
)

func eq(name, value string) Matcher { return Matcher{Name: name, Value: value} }

// silence creates a silence of d from now on ms, failing the test on error.
func (h *harness) silence(d time.Duration, ms ...Matcher) Silence {
	h.t.Helper()
	s, err := h.eng.CreateSilence(Silence{Matchers: ms, EndsAt: h.clk.Now().Add(d), CreatedBy: "alice", Comment: "maintenance"})
	if err != nil {
		h.t.Fatalf("CreateSilence: %v", err)
	}
	return s
}

func TestSilenceMutesFiringAndResolved(t *testing.T) {
	ctx := context.Background()
	plex := alertID(RuleServiceDown, labels(names.AttrService, "plex"))
	for _, tc := range []struct {
		name string
		// before runs before the silence: it may fire and notify the alert.
		before func(h *harness)
		// during runs while the silence is active.
		during func(h *harness)
		// end ends the silence.
		end  func(h *harness, s Silence)
		want []string // notified from the silence's start on
	}{
		{
			name:   "fires while silenced, still fires at expiry: notified once",
			during: func(h *harness) { h.up.Record(ctx, 0, svc("plex")); h.step(time.Minute); h.step(time.Minute) },
			end:    expire,
			want:   []string{"service_down:firing:service=plex"},
		},
		{
			name:   "fires while silenced, still fires when the silence runs out",
			during: func(h *harness) { h.up.Record(ctx, 0, svc("plex")); h.step(time.Minute) },
			end:    func(h *harness, s Silence) { h.clk.Advance(s.EndsAt.Sub(h.clk.Now())); h.eval() },
			want:   []string{"service_down:firing:service=plex"},
		},
		{
			name: "fires and resolves while silenced: nothing",
			during: func(h *harness) {
				h.up.Record(ctx, 0, svc("plex"))
				h.step(time.Minute)
				h.up.Record(ctx, 1, svc("plex"))
				h.step(time.Minute)
			},
			end: expire,
		},
		{
			name:   "notified before, resolves while silenced: no resolved notice",
			before: func(h *harness) { h.up.Record(ctx, 0, svc("plex")); h.eval() },
			during: func(h *harness) { h.up.Record(ctx, 1, svc("plex")); h.step(time.Minute) },
			end:    expire,
		},
		{
			name:   "notified before, still fires after: notified once more at the end",
			before: func(h *harness) { h.up.Record(ctx, 0, svc("plex")); h.eval() },
			during: func(h *harness) { h.step(time.Minute); h.step(time.Minute) },
			end:    expire,
			want:   []string{"service_down:firing:service=plex"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.addRules(DefaultRules()...)
			h.up.Record(ctx, 1, svc("plex"))
			h.eval()
			if tc.before != nil {
				tc.before(h)
			}
			h.drain()
			s := h.silence(time.Hour, eq("service", "plex"))
			if s.Status.State != SilenceActive || s.ID == "" || s.CreatedBy != "alice" {
				t.Fatalf("created %+v", s)
			}
			tc.during(h)
			if got := h.drain(); len(got) != 0 {
				t.Fatalf("notified while silenced: %q", summary(got))
			}
			if a, ok := h.eng.Alert(plex); ok && a.State != Resolved && !slices.Equal(a.SilencedBy, []string{s.ID}) {
				t.Fatalf("silenced alert lists silencedBy %q, want [%s]", a.SilencedBy, s.ID)
			}
			tc.end(h, s)
			got := summary(h.drain())
			h.step(time.Minute) // and only once
			got = append(got, summary(h.drain())...)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("after the silence: %q, want %q", got, tc.want)
			}
			if a, ok := h.eng.Alert(plex); ok && (a.SilencedBy != nil || a.MutedBy != nil) {
				t.Fatalf("alert still muted after the silence: %+v", a)
			}
			// A notifier remembers as firing only what it was last told fires:
			// an alert resolved while muted is forgotten, not kept forever.
			for _, d := range h.eng.dispatch.deliverers {
				d.mu.Lock()
				_, known := d.known[plex]
				d.mu.Unlock()
				if want := len(tc.want) > 0; known != want {
					t.Fatalf("notifier %s knows plex as firing: %v, want %v", d.name, known, want)
				}
			}
		})
	}
}

func expire(h *harness, s Silence) {
	h.t.Helper()
	got, err := h.eng.ExpireSilence(s.ID)
	if err != nil || got.Status.State != SilenceExpired || !got.EndsAt.Equal(h.clk.Now()) {
		h.t.Fatalf("ExpireSilence = %+v, %v", got, err)
	}
}

// A silence stops a notified alert's reminders and every new notice, but
// a Resender that knows it keeps getting its resends while it fires:
// otherwise its receiver (Alertmanager) would resolve it on its own and
// announce a recovery that did not happen. When the alert resolves under
// the silence the resends stop and nobody is told; when the silence ends
// and it still fires, every notifier gets it once.
func TestSilenceStopsRemindersAndResends(t *testing.T) {
	ctx := context.Background()
	imdb := alertID(RuleConsecutiveSyncFailures, labels(names.AttrSource, "imdb"))
	for _, tc := range []struct {
		name      string
		resolve   bool     // the alert resolves under the silence
		wantAfter []string // what each notifier gets when the silence ends
	}{
		{name: "still fires when the silence ends", wantAfter: []string{"consecutive_sync_failures:firing:source=imdb"}},
		{name: "resolves under the silence", resolve: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &resendRecorder{recorder: newRecorder("am"), every: time.Minute}
			h := newHarness(t, Config{}, WithNotifier(res))
			h.addRules(DefaultRules()...)
			h.failures.Record(ctx, 5, src("imdb"))
			h.eval()
			if got := summary(h.drainOf(1)); len(got) != 1 {
				t.Fatalf("first notification %q", got)
			}
			h.drain()
			s := h.silence(2*time.Hour, eq("alertname", RuleConsecutiveSyncFailures), Matcher{Name: "source", Value: "im.*", Type: MatchRegexp})
			// A Resender added under the silence never heard of the alert:
			// it gets no resends of it.
			late := &resendRecorder{recorder: newRecorder("late"), every: time.Minute}
			if err := h.eng.AddNotifier(late); err != nil {
				t.Fatal(err)
			}
			// 31 minutes: past the rule's 30 min reminder and many resend periods.
			for i := range 31 {
				h.step(time.Minute)
				if got := h.drain(); len(got) != 0 {
					t.Fatalf("minute %d: the plain notifier got %q under the silence", i+1, summary(got))
				}
				got := h.drainOf(1)
				if len(got) != 1 || got[0].ID != imdb || got[0].State != Firing || got[0].SilencedBy != nil {
					t.Fatalf("minute %d: the Resender got %+v, want one resend of the firing alert", i+1, got)
				}
				if got := h.drainOf(2); len(got) != 0 {
					t.Fatalf("minute %d: the late Resender got %q", i+1, summary(got))
				}
			}
			if tc.resolve {
				h.failures.Record(ctx, 0, src("imdb"))
				for range 5 {
					h.step(time.Minute)
				}
				for i := range 3 {
					if got := h.drainOf(i); len(got) != 0 {
						t.Fatalf("notifier %d told of the resolution under the silence: %q", i, summary(got))
					}
				}
			}
			expire(h, s)
			for i := range 3 {
				if got := summary(h.drainOf(i)); !slices.Equal(got, tc.wantAfter) {
					t.Fatalf("notifier %d at the end of the silence: %q, want %q", i, got, tc.wantAfter)
				}
				d := h.eng.dispatch.deliverers[i]
				d.mu.Lock()
				_, known := d.known[imdb]
				d.mu.Unlock()
				if want := !tc.resolve; known != want {
					t.Fatalf("notifier %d knows imdb as firing: %v, want %v", i, known, want)
				}
			}
		})
	}
}

// resendRecorder is a recorder that asks for resends (as the Alertmanager
// notifier does).
type resendRecorder struct {
	*recorder
	every time.Duration
}

func (r *resendRecorder) ResendInterval() time.Duration { return r.every }

// Matchers read an alert's labels plus alertname, the rule, and severity,
// the level, which win over labels of the same name.
func TestSilenceMatchers(t *testing.T) {
	a := &Alert{Rule: "service_down", Level: Critical, Labels: labels("service", "imdb", "alertname", "spoof")}
	for _, tc := range []struct {
		m    Matcher
		want bool
	}{
		{eq("service", "imdb"), true},
		{eq("service", "tmdb"), false},
		{eq("alertname", "service_down"), true}, // the rule wins over a label of that name
		{eq("alertname", "spoof"), false},
		{eq("severity", "critical"), true},
		{Matcher{Name: "service", Value: "imdb", Type: MatchNotEqual}, false},
		{Matcher{Name: "source", Value: "imdb", Type: MatchNotEqual}, true}, // absent reads as ""
		{Matcher{Name: "service", Value: "im", Type: MatchRegexp}, false},   // anchored
		{Matcher{Name: "service", Value: "im.*|tmdb", Type: MatchRegexp}, true},
		{Matcher{Name: "severity", Value: "warning|info", Type: MatchNotRegexp}, true},
	} {
		// A window open at every instant mutes exactly what its matchers
		// select.
		w, err := silence.NewWindow(MaintenanceWindow{Name: "w", Matchers: []Matcher{tc.m}, TimeIntervals: []TimeInterval{{}}})
		if err != nil {
			t.Fatal(err)
		}
		_, mutedBy := silence.NewStore(SilenceConfig{}).Mutes([]*silence.Window{w}, t0).Of((*alertLabels)(a))
		if got := mutedBy != nil; got != tc.want {
			t.Errorf("%s on %v = %v, want %v", tc.m, a.Labels, got, tc.want)
		}
	}
}

func TestCreateSilenceInvalid(t *testing.T) {
	h := newHarness(t, Config{Silences: SilenceConfig{MaxDuration: 24 * time.Hour}})
	now := h.clk.Now()
	ok := []Matcher{eq("service", "imdb")}
	for _, tc := range []struct {
		name  string
		s     Silence
		field string
	}{
		{"no matchers", Silence{EndsAt: now.Add(time.Hour)}, "matchers"},
		{"only empty-matching matchers", Silence{Matchers: []Matcher{{Name: "service", Value: ".*", Type: MatchRegexp}}, EndsAt: now.Add(time.Hour)}, "matchers"},
		{"bad regex", Silence{Matchers: []Matcher{{Name: "service", Value: "im(db", Type: MatchRegexp}}, EndsAt: now.Add(time.Hour)}, "matchers[0].value"},
		{"empty name", Silence{Matchers: []Matcher{{Value: "x"}}, EndsAt: now.Add(time.Hour)}, "matchers[0].name"},
		{"no end", Silence{Matchers: ok}, "endsAt"},
		{"end before start", Silence{Matchers: ok, StartsAt: now.Add(2 * time.Hour), EndsAt: now.Add(time.Hour)}, "endsAt"},
		{"end in the past", Silence{Matchers: ok, EndsAt: now.Add(-time.Minute)}, "endsAt"},
		{"too long", Silence{Matchers: ok, EndsAt: now.Add(25 * time.Hour)}, "endsAt"},
		{"starts too far ahead", Silence{Matchers: ok, StartsAt: now.Add(25 * time.Hour), EndsAt: now.Add(26 * time.Hour)}, "startsAt"},
		{"id given", Silence{ID: "x", Matchers: ok, EndsAt: now.Add(time.Hour)}, "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.eng.CreateSilence(tc.s)
			var se *SilenceError
			if !errors.Is(err, ErrInvalidSilence) || !errors.As(err, &se) || se.Field != tc.field {
				t.Fatalf("CreateSilence = %v, want a *SilenceError on %s wrapping ErrInvalidSilence", err, tc.field)
			}
		})
	}
	if got := h.eng.Silences(); len(got) != 0 {
		t.Fatalf("invalid silences kept: %+v", got)
	}
}

func TestTooManySilencesAndRetention(t *testing.T) {
	h := newHarness(t, Config{Silences: SilenceConfig{MaxSilences: 2, Retention: time.Hour}})
	a := h.silence(time.Hour, eq("service", "a"))
	h.silence(2*time.Hour, eq("service", "b"))
	_, err := h.eng.CreateSilence(Silence{Matchers: []Matcher{eq("service", "c")}, EndsAt: h.clk.Now().Add(time.Hour)})
	if !errors.Is(err, ErrTooManySilences) {
		t.Fatalf("third silence: %v, want ErrTooManySilences", err)
	}
	// An expired silence no longer counts, but is listed until its
	// retention has passed.
	expire(h, a)
	c := h.silence(time.Hour, eq("service", "c"))
	got := h.eng.Silences()
	if len(got) != 3 || got[0].ID != c.ID || got[2].ID != a.ID || got[2].Status.State != SilenceExpired {
		t.Fatalf("Silences() = %+v", got)
	}
	if again, err := h.eng.ExpireSilence(a.ID); err != nil || !again.EndsAt.Equal(got[2].EndsAt) {
		t.Fatalf("expiring again = %+v, %v; want it unchanged", again, err)
	}
	h.step(time.Hour + time.Second)
	if _, ok := h.eng.Silence(a.ID); ok {
		t.Fatal("expired silence kept past its retention")
	}
	if _, err := h.eng.ExpireSilence(a.ID); !errors.Is(err, ErrSilenceNotFound) {
		t.Fatalf("ExpireSilence of a dropped silence = %v", err)
	}
	if s, ok := h.eng.Silence(c.ID); !ok || s.Status.State != SilenceExpired {
		t.Fatalf("silence c = %+v, %v; want kept and expired", s, ok)
	}
}

// Expired silences are bounded by MaxSilences too: creating and expiring
// silences in a loop keeps the latest ones, in memory and in the state
// file, not every one for the retention period.
func TestExpiredSilencesAreBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.json")
	h := newHarness(t, Config{StatePath: path, Silences: SilenceConfig{MaxSilences: 2}})
	var ids []string
	for range 5 {
		s := h.silence(time.Hour, eq("service", "plex"))
		expire(h, s)
		ids = append(ids, s.ID)
		h.clk.Advance(time.Second)
	}
	live := h.silence(time.Hour, eq("service", "imdb"))
	var got []string
	for _, s := range h.eng.Silences() {
		got = append(got, s.ID)
	}
	// Active first, then expired, most recently ended first.
	if want := []string{live.ID, ids[4], ids[3]}; !slices.Equal(got, want) {
		t.Fatalf("silences kept %q, want %q", got, want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sf stateFile
	if err := json.Unmarshal(b, &sf); err != nil || len(sf.Silences) != 3 {
		t.Fatalf("state file keeps %d silences (%v), want 3", len(sf.Silences), err)
	}
	// Silences that run out are bounded at the next evaluation.
	later := h.silence(time.Minute, eq("service", "tmdb"))
	h.step(time.Hour)
	got = got[:0]
	for _, s := range h.eng.Silences() {
		got = append(got, s.ID)
	}
	if want := []string{live.ID, later.ID}; !slices.Equal(got, want) {
		t.Fatalf("silences kept after two ran out %q, want %q", got, want)
	}
}

func TestPendingSilenceStartsLater(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.addRules(DefaultRules()...)
	s, err := h.eng.CreateSilence(Silence{Matchers: []Matcher{eq("service", "plex")}, StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(2 * time.Hour)})
	if err != nil || s.Status.State != SilencePending {
		t.Fatalf("CreateSilence = %+v, %v", s, err)
	}
	h.up.Record(ctx, 0, svc("plex"))
	h.eval()
	if got := h.drain(); len(got) != 1 {
		t.Fatalf("before the silence starts: %q", summary(got))
	}
	h.step(time.Hour)
	h.up.Record(ctx, 1, svc("plex"))
	h.step(time.Minute)
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("resolution notified during the silence: %q", summary(got))
	}
}

func TestSilenceAlert(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.addRules(DefaultRules()...)
	h.up.Record(ctx, 0, svc("plex"))
	h.up.Record(ctx, 0, svc("imdb"))
	h.eval()
	h.drain()
	plex := alertID(RuleServiceDown, labels(names.AttrService, "plex"))
	s, err := h.eng.SilenceAlert(plex, time.Hour, "bob", "restart")
	if err != nil {
		t.Fatal(err)
	}
	want := []Matcher{eq("alertname", RuleServiceDown), eq("service", "plex")}
	if !slices.Equal(s.Matchers, want) || s.CreatedBy != "bob" || !s.EndsAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("SilenceAlert = %+v", s)
	}
	if a, _ := h.eng.Alert(plex); !slices.Equal(a.SilencedBy, []string{s.ID}) {
		t.Fatalf("silencedBy not set at once: %+v", a)
	}
	imdb := alertID(RuleServiceDown, labels(names.AttrService, "imdb"))
	if a, _ := h.eng.Alert(imdb); a.SilencedBy != nil {
		t.Fatalf("other alert silenced: %+v", a)
	}
	if _, err := h.eng.SilenceAlert("nope", time.Hour, "", ""); !errors.Is(err, ErrAlertNotFound) {
		t.Fatalf("unknown alert: %v", err)
	}
	if _, err := h.eng.SilenceAlert(plex, 0, "", ""); !errors.Is(err, ErrInvalidSilence) {
		t.Fatalf("zero duration: %v", err)
	}
}

// plexNightly is the example: plex, every day 03:00–03:15
// Europe/Berlin.
var plexNightly = MaintenanceWindow{
	Name:     "plex-nightly",
	Matchers: []Matcher{eq("service", "plex")},
	TimeIntervals: []TimeInterval{{
		Times:    []TimeRange{{Start: "03:00", End: "03:15"}},
		Location: "Europe/Berlin",
	}},
}

func TestMaintenanceWindowMutes(t *testing.T) {
	ctx := context.Background()
	cfg := Config{MaintenanceWindows: []MaintenanceWindow{plexNightly}}
	h := newHarness(t, cfg)
	h.addRules(DefaultRules()...)
	// t0 is 12:00 UTC on 1 March 2025 (13:00 in Berlin); go to 02:59 Berlin
	// (01:59 UTC) the next day.
	h.clk.Advance(13*time.Hour + 59*time.Minute)
	h.up.Record(ctx, 1, svc("plex"))
	h.eval()
	if w := h.eng.MaintenanceWindows(); len(w) != 1 || w[0].Active {
		t.Fatalf("window at 02:59 = %+v", w)
	}
	h.up.Record(ctx, 0, svc("plex"))
	h.step(time.Minute) // 03:00
	plex := alertID(RuleServiceDown, labels(names.AttrService, "plex"))
	if a, _ := h.eng.Alert(plex); a.State != Firing || !slices.Equal(a.MutedBy, []string{"plex-nightly"}) {
		t.Fatalf("alert in the window: %+v", a)
	}
	if w := h.eng.MaintenanceWindows(); !w[0].Active {
		t.Fatal("window not active at 03:00")
	}
	h.step(14 * time.Minute) // 03:14
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("notified in the window: %q", summary(got))
	}
	h.step(time.Minute) // 03:15: the window has closed
	if got := summary(h.drain()); !slices.Equal(got, []string{"service_down:firing:service=plex"}) {
		t.Fatalf("after the window: %q", got)
	}
	if a, _ := h.eng.Alert(plex); a.MutedBy != nil {
		t.Fatalf("still muted: %+v", a)
	}
}

func TestMaintenanceWindowConfigErrors(t *testing.T) {
	_, err := New(Config{MaintenanceWindows: []MaintenanceWindow{
		{Name: "a", TimeIntervals: []TimeInterval{{Times: []TimeRange{{Start: "23:00", End: "01:00"}}}}},
		{Name: "a", TimeIntervals: []TimeInterval{{Location: "Mars/Olympus"}}},
		{Name: "", Matchers: []Matcher{{Name: "s", Value: "(", Type: MatchRegexp}}},
	}})
	var fields []string
	for _, e := range flatten(err) {
		var ce *ConfigError
		if !errors.As(e, &ce) || !errors.Is(e, ErrInvalidConfig) {
			t.Fatalf("error %v is not a *ConfigError", e)
		}
		fields = append(fields, ce.Field)
	}
	want := []string{
		"MaintenanceWindows[0].TimeIntervals[0].Times[0]",
		"MaintenanceWindows[1].Name",
		"MaintenanceWindows[1].TimeIntervals[0].Location",
		"MaintenanceWindows[2].Name",
		"MaintenanceWindows[2].Matchers[0].value",
		"MaintenanceWindows[2].TimeIntervals",
	}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields %q, want %q", fields, want)
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func TestSilenceSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "alerts.json")
	cfg := Config{StatePath: path}
	h := newHarness(t, cfg)
	h.addRules(DefaultRules()...)
	h.up.Record(ctx, 0, svc("imdb"))
	s := h.silence(time.Hour, eq("service", "imdb"))
	h.eval()
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("silenced alert notified: %q", summary(got))
	}

	h2 := restart(t, h, cfg)
	res := &resendRecorder{recorder: newRecorder("am"), every: time.Minute}
	if err := h2.eng.AddNotifier(res); err != nil {
		t.Fatal(err)
	}
	h2.addRules(DefaultRules()...)
	if got, ok := h2.eng.Silence(s.ID); !ok || got.Status.State != SilenceActive || !slices.Equal(got.Matchers, s.Matchers) {
		t.Fatalf("silence after restart = %+v, %v", got, ok)
	}
	h2.up.Record(ctx, 0, svc("imdb"))
	h2.step(time.Minute)
	h2.step(time.Minute)
	if got, got2 := h2.drain(), h2.drainOf(1); len(got)+len(got2) != 0 {
		t.Fatalf("restart notified a silenced alert: %q %q", summary(got), summary(got2))
	}
	imdb := alertID(RuleServiceDown, labels(names.AttrService, "imdb"))
	if a, _ := h2.eng.Alert(imdb); !slices.Equal(a.SilencedBy, []string{s.ID}) {
		t.Fatalf("after restart: %+v", a)
	}
	expire(h2, s)
	if got := summary(h2.drain()); !slices.Equal(got, []string{"service_down:firing:service=imdb"}) {
		t.Fatalf("at expiry: %q", got)
	}
	h3 := restart(t, h2, cfg)
	if got, ok := h3.eng.Silence(s.ID); !ok || got.Status.State != SilenceExpired {
		t.Fatalf("expired silence after restart = %+v, %v", got, ok)
	}
}

func TestStateFileWithoutSilencesStillLoads(t *testing.T) {
	// A state file written before silences existed.
	path := filepath.Join(t.TempDir(), "alerts.json")
	old := `{"version":1,"alerts":[{"alert":{"id":"x","rule":"service_down","level":"critical","state":"firing",` +
		`"title":"Service plex is down","description":"","labels":{"service":"plex"},"value":0,` +
		`"startsAt":"2025-03-01T11:00:00Z","updatedAt":"2025-03-01T11:00:00Z","acknowledged":false,"flapping":false},"notified":true}]}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Config{StatePath: path})
	if a, ok := h.eng.Alert("x"); !ok || a.State != Firing {
		t.Fatalf("old state file: %+v, %v", a, ok)
	}
	if got := h.eng.Silences(); len(got) != 0 {
		t.Fatalf("silences from an old file: %+v", got)
	}
	s := h.silence(time.Hour, eq("service", "plex"))
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), `"silences":[{"id":"`+s.ID+`"`) || !strings.Contains(string(b), `"version":1`) {
		t.Fatalf("state file after a silence: %s, %v", b, err)
	}
}

// A state file written by a later version, whose matchers carry a field
// this one does not know, still loads: it is not moved aside as corrupt,
// and its silences keep muting.
func TestStateFileWithNewerMatcherFieldsLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.json")
	cfg := Config{StatePath: path}
	h := newHarness(t, cfg)
	s := h.silence(time.Hour, eq("service", "plex"))
	if err := h.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(string(b), `"name":"service"`, `"name":"service","caseInsensitive":false`, 1)
	if newer == string(b) {
		t.Fatalf("no matcher in the state file: %s", b)
	}
	if err := os.WriteFile(path, []byte(newer), 0o600); err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, cfg)
	if got, ok := h2.eng.Silence(s.ID); !ok || got.Status.State != SilenceActive || !slices.Equal(got.Matchers, s.Matchers) {
		t.Fatalf("silence from a newer file = %+v, %v", got, ok)
	}
	if m, _ := filepath.Glob(path + ".corrupt-*"); len(m) != 0 {
		t.Fatalf("a newer state file was moved aside: %v", m)
	}
}

func TestSilenceNotSavedIsNotKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Config{StatePath: filepath.Join(dir, "alerts.json")})
	kept := h.silence(time.Hour, eq("service", "plex"))
	restore := replaceDirByFile(t, dir)
	_, err := h.eng.CreateSilence(Silence{Matchers: []Matcher{eq("service", "imdb")}, EndsAt: h.clk.Now().Add(time.Hour)})
	if !errors.Is(err, ErrNotSaved) || !errors.Is(err, syscall.ENOTDIR) {
		t.Fatalf("CreateSilence with an unwritable state = %v, want ErrNotSaved wrapping the cause", err)
	}
	if _, err := h.eng.ExpireSilence(kept.ID); !errors.Is(err, ErrNotSaved) {
		t.Fatalf("ExpireSilence with an unwritable state = %v, want ErrNotSaved", err)
	}
	if got := h.eng.Silences(); len(got) != 1 || got[0].ID != kept.ID || got[0].Status.State != SilenceActive {
		t.Fatalf("silences after failed saves: %+v", got)
	}
	restore()
	if _, err := h.eng.ExpireSilence(kept.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.CreateSilence(Silence{}); !errors.Is(err, ErrShutdown) {
		t.Fatalf("after Shutdown: %v", err)
	}
}

// A firing notice dropped because the alert was muted was received by no
// one: it does not count for the rate limit, and the first firing after
// the silence is notified at once.
func TestMutedFiringDoesNotCountForRateLimit(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.addRules(Rule{Name: "r", Level: Warning, Condition: ServiceDown{}, For: 2 * time.Minute, RateLimit: time.Hour})
	h.up.Record(ctx, 1, svc("plex"))
	h.eval()
	h.silence(5*time.Minute, eq("service", "plex"))
	h.up.Record(ctx, 0, svc("plex"))
	h.eval()                // t0: pending, muted
	h.step(2 * time.Minute) // t0+2: fires, muted: its notice is dropped
	h.up.Record(ctx, 1, svc("plex"))
	h.step(time.Minute) // t0+3: resolves, muted
	h.up.Record(ctx, 0, svc("plex"))
	h.step(time.Minute) // t0+4: pending again, muted
	h.step(time.Minute) // t0+5: the silence is over; pending
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("notified before firing unmuted: %q", summary(got))
	}
	h.step(time.Minute) // t0+6: fires, not muted
	got := h.drain()
	if len(got) != 1 || got[0].State != Firing || got[0].HeldBack != 0 {
		t.Fatalf("first firing after the silence: %+v, want one firing notice", got)
	}
}

// A resolved alert lists no silence, and a silence that muted it earlier
// does not make its next occurrence skip the rate limit.
func TestResolvedAlertListsNoSilence(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.addRules(Rule{Name: "r", Level: Warning, Condition: ServiceDown{}, RateLimit: time.Hour})
	h.up.Record(ctx, 0, svc("plex"))
	h.eval()
	if got := h.drain(); len(got) != 1 {
		t.Fatalf("first firing: %q", summary(got))
	}
	s := h.silence(5*time.Minute, eq("service", "plex"))
	h.up.Record(ctx, 1, svc("plex"))
	h.step(time.Minute) // resolves, muted
	if a := h.only("r"); a.State != Resolved || a.SilencedBy != nil || a.MutedBy != nil {
		t.Fatalf("resolved alert: %s, silencedBy %q, mutedBy %q; want neither", a.State, a.SilencedBy, a.MutedBy)
	}
	expire(h, s)
	h.up.Record(ctx, 0, svc("plex"))
	h.step(time.Minute) // fires again within the rate limit of the first notice
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("second occurrence within the rate limit notified: %q", summary(got))
	}
	if a := h.only("r"); a.State != Firing || a.SilencedBy != nil {
		t.Fatalf("second occurrence: %+v", a)
	}
}

// A silence created and expired while a restored alert's rule is not added
// again yet (RestoreGrace) leaves a firing notice owed: it is sent at the
// first evaluation with the rule, also across another restart.
func TestUnmutedWithoutRuleNotifiedOnceRuleIsBack(t *testing.T) {
	ctx := context.Background()
	for _, restartBetween := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart between=%v", restartBetween), func(t *testing.T) {
			cfg := Config{StatePath: filepath.Join(t.TempDir(), "alerts.json"), RestoreGrace: 10 * time.Minute}
			h := newHarness(t, cfg)
			h.addRules(DefaultRules()...)
			h.up.Record(ctx, 0, svc("imdb"))
			h.eval()
			if got := h.drain(); len(got) != 1 {
				t.Fatalf("first run: %q", summary(got))
			}
			h = restart(t, h, cfg)
			s := h.silence(time.Hour, eq("service", "imdb")) // the rule is not added yet
			expire(h, s)
			if restartBetween {
				h = restart(t, h, cfg)
			}
			h.addRules(DefaultRules()...)
			h.up.Record(ctx, 0, svc("imdb"))
			h.step(time.Minute)
			want := []string{"service_down:firing:service=imdb"}
			if got := summary(h.drain()); !slices.Equal(got, want) {
				t.Fatalf("after the rule is back: %q, want %q", got, want)
			}
			for range 3 {
				h.step(time.Minute)
			}
			if got := h.drain(); len(got) != 0 {
				t.Fatalf("notified more than once: %q", summary(got))
			}
			h.up.Record(ctx, 1, svc("imdb"))
			h.step(time.Minute)
			if got := summary(h.drain()); !slices.Equal(got, []string{"service_down:resolved:service=imdb"}) {
				t.Fatalf("resolution: %q", got)
			}
		})
	}
}

// A Resender keeps resending a muted alert it knew as firing after a
// restart too; the plain notifier hears nothing until the silence ends.
func TestMutedResendsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	cfg := Config{StatePath: filepath.Join(t.TempDir(), "alerts.json")}
	h := newHarness(t, cfg)
	h.addRules(DefaultRules()...)
	h.up.Record(ctx, 0, svc("imdb"))
	h.eval()
	h.drain()
	s := h.silence(time.Hour, eq("service", "imdb"))
	h2 := restart(t, h, cfg)
	res := &resendRecorder{recorder: newRecorder("am"), every: time.Minute}
	if err := h2.eng.AddNotifier(res); err != nil {
		t.Fatal(err)
	}
	h2.addRules(DefaultRules()...)
	h2.up.Record(ctx, 0, svc("imdb"))
	h2.step(time.Minute)
	if got := h2.drain(); len(got) != 0 {
		t.Fatalf("plain notifier under the silence: %q", summary(got))
	}
	want := []string{"service_down:firing:service=imdb"}
	if got := summary(h2.drainOf(1)); !slices.Equal(got, want) {
		t.Fatalf("Resender after the restart: %q, want the resend %q", got, want)
	}
	expire(h2, s)
	for i := range 2 {
		if got := summary(h2.drainOf(i)); !slices.Equal(got, want) {
			t.Fatalf("notifier %d at the end of the silence: %q, want %q", i, got, want)
		}
	}
}

// An alert that resolves in the evaluation where a pending silence becomes
// active is muted: its resolution reaches no notifier.
func TestResolvedAsSilenceStartsIsNotNotified(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.addRules(DefaultRules()...)
	if _, err := h.eng.CreateSilence(Silence{Matchers: []Matcher{eq("service", "plex")}, StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h.up.Record(ctx, 0, svc("plex"))
	h.eval()
	if got := h.drain(); len(got) != 1 {
		t.Fatalf("before the silence: %q", summary(got))
	}
	h.up.Record(ctx, 1, svc("plex"))
	h.step(time.Hour) // the silence is active from now; the alert resolves in this evaluation
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("resolution notified while the silence is active: %q", summary(got))
	}
}

// A Resender's keep-alive of a muted alert is the alert as it last heard
// of it: a level raised under the silence is not resent (for Alertmanager
// a new alert, severity being a label), only notified once the silence
// ends.
func TestKeepAliveKeepsNotifiedLevel(t *testing.T) {
	ctx := context.Background()
	res := &resendRecorder{recorder: newRecorder("am"), every: time.Minute}
	h := newHarness(t, Config{}, WithNotifier(res))
	h.addRules(Rule{Name: "r", Level: Warning, Condition: ServiceDown{}})
	h.up.Record(ctx, 0, svc("plex"))
	h.eval()
	h.drainOf(0)
	if got := h.drainOf(1); len(got) != 1 || got[0].Level != Warning {
		t.Fatalf("first firing: %+v", got)
	}
	h.silence(time.Hour, eq("service", "plex"))
	if err := h.eng.UpdateRule(Rule{Name: "r", Level: Critical, Condition: ServiceDown{}}); err != nil {
		t.Fatal(err)
	}
	h.step(time.Minute)
	h.step(time.Minute)
	if got := h.drainOf(0); len(got) != 0 {
		t.Fatalf("plain notifier: %q", summary(got))
	}
	for _, a := range h.drainOf(1) {
		if a.Level != Warning {
			t.Fatalf("keep-alive of a muted alert sent with level %s (was notified as warning): a new Alertmanager alert, severity=%s", a.Level, a.Level)
		}
	}
}

// A silence expired while a restored alert's rule is back but disabled
// notifies nothing: a disabled rule notifies nothing, and its alert retires
// once the restore grace ends (resolved while still owed: not notified).
func TestUnmutedWithDisabledRuleNotifiesNothing(t *testing.T) {
	ctx := context.Background()
	cfg := Config{StatePath: filepath.Join(t.TempDir(), "alerts.json"), RestoreGrace: 10 * time.Minute}
	h := newHarness(t, cfg)
	h.addRules(DefaultRules()...)
	s := h.silence(time.Hour, eq("service", "imdb"))
	h.up.Record(ctx, 0, svc("imdb"))
	h.eval() // fires muted: its firing is owed
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("muted alert notified: %q", summary(got))
	}
	h = restart(t, h, cfg)
	for _, r := range DefaultRules() {
		if r.Name == RuleServiceDown {
			r.Disabled = true
		}
		h.addRules(r)
	}
	expire(h, s)
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("a disabled rule's alert notified at the silence's end: %q", summary(got))
	}
	h.step(11 * time.Minute) // past the restore grace: the alert retires
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("a disabled rule's alert notified as it retired: %q", summary(got))
	}
}

// Matcher names and values may not hold control or invisible formatting
// characters, in silences as in maintenance windows.
func TestMatcherCharacters(t *testing.T) {
	h := newHarness(t, Config{})
	for _, tc := range []struct {
		name  string
		m     Matcher
		field string
	}{
		{"NUL in a name", eq("serv\x00ice", "imdb"), "matchers[0].name"},
		{"newline in a value", eq("service", "imdb\nsource=\"x\""), "matchers[0].value"},
		{"tab in a regular expression", Matcher{Name: "service", Value: "im\tdb", Type: MatchRegexp}, "matchers[0].value"},
		{"escape in a value", eq("service", "\x1b[2Jimdb"), "matchers[0].value"},
		{"right-to-left override", eq("service", "bdmi\u202e"), "matchers[0].value"},
		{"zero-width space", eq("ser\u200bvice", "imdb"), "matchers[0].name"},
		{"not UTF-8", eq("service", "im\xffdb"), "matchers[0].value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.eng.CreateSilence(Silence{Matchers: []Matcher{tc.m}, EndsAt: h.clk.Now().Add(time.Hour)})
			var se *SilenceError
			if !errors.Is(err, ErrInvalidSilence) || !errors.As(err, &se) || se.Field != tc.field {
				t.Fatalf("CreateSilence = %v, want a *SilenceError on %s wrapping ErrInvalidSilence", err, tc.field)
			}
			_, err = New(Config{MaintenanceWindows: []MaintenanceWindow{{Name: "w", Matchers: []Matcher{tc.m},
				TimeIntervals: []TimeInterval{{Weekdays: []string{"sunday"}}}}}})
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "MaintenanceWindows[0].Matchers[0].") {
				t.Fatalf("maintenance window: %v, want a *ConfigError on its matcher", err)
			}
		})
	}
	// What the characters look like written out is fine.
	if _, err := h.eng.CreateSilence(Silence{Matchers: []Matcher{{Name: "service", Value: `im\tdb|\x00`, Type: MatchRegexp}},
		EndsAt: h.clk.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("escapes in a regular expression: %v", err)
	}
}
