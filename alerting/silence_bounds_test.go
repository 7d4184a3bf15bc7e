package alerting

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A silence beyond a bound of SilenceConfig is refused with a
// *SilenceError wrapping ErrSilenceTooLarge that names the bound; one at
// the bounds is kept.
func TestSilenceBounds(t *testing.T) {
	bounds := SilenceConfig{MaxSize: 100, MaxMatchers: 3, MaxRegexLength: 20, MaxRegexMemory: 12000}
	h := newHarness(t, Config{Silences: bounds})
	end := h.clk.Now().Add(time.Hour)
	re := func(v string) Matcher { return Matcher{Name: "service", Value: v, Type: MatchRegexp} }
	for _, tc := range []struct {
		name         string
		s            Silence
		field, limit string // empty limit: kept
	}{
		{"at the bounds", Silence{Matchers: []Matcher{eq("service", "imdb"), re("tmdb|trakt|plex|imdb"), re(strings.Repeat("a", 20))},
			CreatedBy: "alice", Comment: strings.Repeat("c", 100-4-7-20-7-20-7-5)}, "", ""},
		{"too many matchers", Silence{Matchers: []Matcher{eq("a", "1"), eq("b", "2"), eq("c", "3"), eq("d", "4")}}, "matchers", "MaxMatchers"},
		{"too much text", Silence{Matchers: []Matcher{eq("service", "imdb")}, Comment: strings.Repeat("c", 90)}, "", "MaxSize"},
		{"expression too long", Silence{Matchers: []Matcher{re(strings.Repeat("a", 21))}}, "matchers[0].value", "MaxRegexLength"},
		{"expression too costly", Silence{Matchers: []Matcher{re(`\pL`)}}, "matchers", "MaxRegexMemory"},
		{"expressions too costly together", Silence{Matchers: []Matcher{re("imdb|tmdb|trakt|plex"), re("imdb|tmdb|trakt|plex"), re("imdb|tmdb|trakt|plex")}}, "matchers", "MaxRegexMemory"},
		{"repetition too costly", Silence{Matchers: []Matcher{re("a{1000}")}}, "matchers", "MaxRegexMemory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.EndsAt = end
			got, err := h.eng.CreateSilence(tc.s)
			if tc.limit == "" {
				if err != nil {
					t.Fatalf("CreateSilence: %v", err)
				}
				if _, err := h.eng.ExpireSilence(got.ID); err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *SilenceError
			if !errors.Is(err, ErrSilenceTooLarge) || errors.Is(err, ErrInvalidSilence) || !errors.As(err, &se) {
				t.Fatalf("CreateSilence = %v, want a *SilenceError wrapping ErrSilenceTooLarge", err)
			}
			if se.Field != tc.field || se.Limit != tc.limit {
				t.Fatalf("field %q, limit %q; want %q, %q (%v)", se.Field, se.Limit, tc.field, tc.limit, err)
			}
			if want := "(SilenceConfig." + tc.limit + ")"; !strings.Contains(err.Error(), want) || !strings.HasSuffix(se.ReasonWithLimit(), want) {
				t.Fatalf("%q does not name the limit %s", err, want)
			}
		})
	}
	for _, s := range h.eng.Silences() {
		if s.Status.State != SilenceExpired {
			t.Fatalf("a refused silence was kept: %+v", s)
		}
	}
}

// A saved silence beyond the bounds of the engine that reads it (saved
// under larger ones) is dropped and logged; the others are kept.
func TestSavedSilenceBeyondBoundsDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.json")
	h := newHarness(t, Config{StatePath: path})
	long := h.silence(time.Hour, Matcher{Name: "service", Value: strings.Repeat("a", 100), Type: MatchRegexp})
	short := h.silence(time.Hour, Matcher{Name: "service", Value: "imdb|tmdb", Type: MatchRegexp})
	h2 := restart(t, h, Config{StatePath: path, Silences: SilenceConfig{MaxRegexLength: 50}})
	if _, ok := h2.eng.Silence(long.ID); ok {
		t.Fatal("a silence beyond MaxRegexLength was read")
	}
	if _, ok := h2.eng.Silence(short.ID); !ok {
		t.Fatal("a silence within the bounds was dropped")
	}
	if logs := h2.logs.String(); !strings.Contains(logs, "saved silence dropped") || !strings.Contains(logs, "MaxRegexLength") {
		t.Fatalf("the drop is not logged with its reason:\n%s", logs)
	}
}
