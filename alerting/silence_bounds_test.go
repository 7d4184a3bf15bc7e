package alerting

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/clock"
)

// heapAlloc returns the bytes of live heap objects, after collecting
// garbage. The package's tests do not run in parallel, so nothing else
// allocates meanwhile.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

type regexShape struct {
	name string
	expr func(n int) string
}

// regexShapes are regular expressions of the shapes that cost the most
// compiled for their text, and of the usual ones; n sizes them.
var regexShapes = []regexShape{
	{"literal", func(n int) string { return strings.Repeat("a", n) }},
	{"hosts", func(n int) string {
		hosts := make([]string, n)
		for i := range hosts {
			hosts[i] = fmt.Sprintf("host-%03d.example", i)
		}
		return strings.Join(hosts, "|")
	}},
	{"class", func(n int) string { return strings.Repeat("[a-z]", n) }},
	{"class plus", func(n int) string { return strings.Repeat("[ab]+c", n) }},
	{"star", func(n int) string { return strings.Repeat("a*b", n) }},
	{"optional", func(n int) string { return strings.Repeat("a?", n) }},
	{"groups", func(n int) string { return strings.Repeat("((a|b)|(c|d))", n) }},
	{"repetition", func(n int) string { return strings.Repeat("a{100}", n) }},
	{"unicode class", func(n int) string { return strings.Repeat(`\pL`, n) }},
	{"negated unicode class", func(n int) string { return strings.Repeat(`[^\pL]`, n) }},
	{"word", func(n int) string { return strings.Repeat(`\w+`, n) }},
	{"any repeated", func(n int) string { return strings.Repeat(`(?s:.){50}`, n) }},
	{"boundaries", func(n int) string { return strings.Repeat(`\b`, n) }},
	{"case folded", func(n int) string { return "(?i)" + strings.Repeat("abcdefgh", n) }},
	{"unicode star", func(n int) string { return strings.Repeat(`\pL*\pN`, n) }},
	{"unicode alternation", func(n int) string { return strings.Repeat(`(\pL|\pN|\pP)`, n) }},
	{"folded star", func(n int) string { return "(?i)" + strings.Repeat(`k*s`, n) }},
}

// regexMemory must err high: the heap a compiled expression keeps is
// below its estimate, for every shape, small and large.
func TestRegexMemoryEstimate(t *testing.T) {
	for _, shape := range regexShapes {
		for _, n := range []int{1, 8, 64} {
			t.Run(fmt.Sprintf("%s/%d", shape.name, n), func(t *testing.T) {
				v := shape.expr(n)
				prog, err := parseRegex(v)
				if err != nil {
					t.Fatal(err)
				}
				est := regexMemory(anchor(v), prog)
				const k = 20
				keep := make([]*regexp.Regexp, k)
				before := heapAlloc()
				for i := range keep {
					keep[i] = regexp.MustCompile(anchor(strings.Clone(v)))
				}
				after := heapAlloc()
				runtime.KeepAlive(keep)
				got := float64(int64(after)-int64(before)) / k
				t.Logf("%d bytes of expression, %d instructions: %.0f bytes compiled, %.2f of the estimate", len(v), len(prog.Inst), got, got/float64(est))
				if got > float64(est) {
					t.Errorf("%d bytes of expression keep %.0f bytes compiled, more than the estimate %d", len(v), got, est)
				}
			})
		}
	}
}

// largestSilence returns a function that makes the largest silences of
// one shape the bounds b accept, or nil when they accept none: their
// matchers made by ms from the largest size n MaxRegexMemory and MaxSize
// allow, their comments filling MaxSize. The argument i makes every
// string of the silence its own, as a request's would be, and of one
// width, so that the sizes do not depend on it.
func largestSilence(b SilenceConfig, ms func(i, n int) []Matcher) func(i int) Silence {
	make := func(i, n int) Silence {
		s := Silence{Matchers: ms(i, n), CreatedBy: fmt.Sprintf("user-%06d", i)}
		if pad := b.MaxSize - textSize(&s) - 6; pad >= 0 {
			s.Comment = fmt.Sprintf("%06d", i) + strings.Repeat("c", pad)
		}
		return s
	}
	fits := func(n int) bool {
		s := make(0, n)
		if len(s.Matchers) > b.MaxMatchers || textSize(&s) > b.MaxSize || s.Comment == "" {
			return false
		}
		_, _, berrs := compileMatchersBounded("matchers", s.Matchers, regexBounds{maxLength: b.MaxRegexLength, maxMemory: b.MaxRegexMemory})
		return berrs == nil
	}
	n := 1
	if !fits(n) {
		return nil
	}
	for fits(2 * n) {
		n *= 2
	}
	for step := n / 2; step > 0; step /= 2 {
		if fits(n + step) {
			n += step
		}
	}
	return func(i int) Silence { return make(i, n) }
}

// silenceShapes are the silences TestMaxSilencesHeap fills the engine
// with, each at the largest the default bounds accept: text alone, many
// small expressions, and one expression of each shape that costs the
// most compiled for its estimate.
var silenceShapes = []struct {
	name string
	ms   func(i, n int) []Matcher
}{
	{"equality matchers", func(i, n int) []Matcher {
		ms := make([]Matcher, min(n, DefaultMaxSilenceMatchers))
		for j := range ms {
			ms[j] = Matcher{Name: fmt.Sprintf("l%02d", j), Value: fmt.Sprintf("%06d", i) + strings.Repeat("v", n/len(ms))}
		}
		return ms
	}},
	{"small expressions", func(i, n int) []Matcher {
		ms := make([]Matcher, n)
		for j := range ms {
			ms[j] = Matcher{Name: fmt.Sprintf("l%02d", j), Value: fmt.Sprintf("imdb-%06d|tmdb", i), Type: MatchRegexp}
		}
		return ms
	}},
	regexSilence("hosts"),
	regexSilence("star"), // the costliest for its estimate: 50 MiB
	regexSilence("unicode class"),
}

// regexSilence is a silence shape of one regular expression of the
// regexShapes one named.
func regexSilence(name string) struct {
	name string
	ms   func(i, n int) []Matcher
} {
	i := slices.IndexFunc(regexShapes, func(s regexShape) bool { return s.name == name })
	expr := regexShapes[i].expr
	return struct {
		name string
		ms   func(i, n int) []Matcher
	}{name, func(i, n int) []Matcher {
		return []Matcher{{Name: "service", Value: fmt.Sprintf("x%06d", i) + expr(n), Type: MatchRegexp}}
	}}
}

// With the default bounds, MaxSilences silences pending or active at the
// largest, and as many expired ones, take under 64 MiB of heap, whatever
// the shape of their matchers.
func TestMaxSilencesHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("fills the engine with silences")
	}
	const budget = 64 << 20
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Silences
	for _, shape := range silenceShapes {
		t.Run(shape.name, func(t *testing.T) {
			largest := largestSilence(b, shape.ms)
			if largest == nil {
				t.Skip("the bounds refuse every silence of this shape")
			}
			before := heapAlloc()
			clk := clock.NewFake(t0)
			eng, err := New(Config{}, WithClock(clk))
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]string, 0, b.MaxSilences)
			create := func() {
				base := len(ids)
				for i := range b.MaxSilences {
					s := largest(base + i)
					s.EndsAt = clk.Now().Add(time.Hour)
					got, err := eng.CreateSilence(s)
					if err != nil {
						t.Fatalf("silence %d: %v", i, err)
					}
					ids = append(ids, got.ID)
				}
			}
			create()
			clk.Advance(time.Hour) // the first ones expire; the next ones count without them
			create()
			if got := len(eng.Silences()); got != 2*b.MaxSilences {
				t.Fatalf("%d silences kept, want %d", got, 2*b.MaxSilences)
			}
			used := heapAlloc() - before
			runtime.KeepAlive(eng)
			t.Logf("%d active and %d expired silences at the largest: %.1f MiB of heap",
				b.MaxSilences, b.MaxSilences, float64(used)/(1<<20))
			if used > budget {
				t.Errorf("%.1f MiB of heap, more than %d MiB", float64(used)/(1<<20), budget>>20)
			}
		})
	}
}

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

// An expired silence keeps no compiled matchers, whether it was expired
// or ended: only pending and active silences, at most MaxSilences, hold
// them.
func TestExpiredSilenceKeepsNoCompiledMatchers(t *testing.T) {
	h := newHarness(t, Config{})
	re := Matcher{Name: "service", Value: "imdb|tmdb", Type: MatchRegexp}
	expired := h.silence(time.Hour, re)
	expire(h, expired)
	ended := h.silence(time.Minute, re)
	h.clk.Advance(time.Minute)
	active := h.silence(time.Hour, re)
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	for _, tc := range []struct {
		s        Silence
		compiled bool
	}{{expired, false}, {ended, false}, {active, true}} {
		if got := h.eng.silences.byID[tc.s.ID].m != nil; got != tc.compiled {
			t.Errorf("silence ending %s: compiled matchers %v, want %v", tc.s.EndsAt.Sub(t0), got, tc.compiled)
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
