package silence

import (
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
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
func largestSilence(b Config, ms func(i, n int) []Matcher) func(i int) Silence {
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
		_, _, berrs := compileMatchers("matchers", s.Matchers, regexBounds{maxLength: b.MaxRegexLength, maxMemory: b.MaxRegexMemory})
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
		ms := make([]Matcher, min(n, DefaultMaxMatchers))
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
		t.Skip("fills the store with silences")
	}
	const budget = 64 << 20
	b := Config{}.withDefaults()
	for _, shape := range silenceShapes {
		t.Run(shape.name, func(t *testing.T) {
			largest := largestSilence(b, shape.ms)
			if largest == nil {
				t.Skip("the bounds refuse every silence of this shape")
			}
			before := heapAlloc()
			now := t0
			st := NewStore(Config{})
			ids := make([]string, 0, b.MaxSilences)
			create := func() {
				base := len(ids)
				for i := range b.MaxSilences {
					s := largest(base + i)
					s.EndsAt = now.Add(time.Hour)
					got, err := st.Create(s, now)
					if err != nil {
						t.Fatalf("silence %d: %v", i, err)
					}
					ids = append(ids, got.ID)
				}
			}
			create()
			now = now.Add(time.Hour) // the first ones expire; the next ones count without them
			create()
			if got := len(st.List(now)); got != 2*b.MaxSilences {
				t.Fatalf("%d silences kept, want %d", got, 2*b.MaxSilences)
			}
			used := heapAlloc() - before
			runtime.KeepAlive(st)
			t.Logf("%d active and %d expired silences at the largest: %.1f MiB of heap",
				b.MaxSilences, b.MaxSilences, float64(used)/(1<<20))
			if used > budget {
				t.Errorf("%.1f MiB of heap, more than %d MiB", float64(used)/(1<<20), budget>>20)
			}
		})
	}
}

// An expired silence keeps no compiled matchers, whether it was expired
// or ended: only pending and active silences, at most MaxSilences, hold
// them.
func TestExpiredSilenceKeepsNoCompiledMatchers(t *testing.T) {
	st := NewStore(Config{})
	now := t0
	re := Matcher{Name: "service", Value: "imdb|tmdb", Type: MatchRegexp}
	create := func(d time.Duration) Silence {
		t.Helper()
		s, err := st.Create(Silence{Matchers: []Matcher{re}, EndsAt: now.Add(d)}, now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	expired := create(time.Hour)
	if _, err := st.Expire(expired.ID, now); err != nil {
		t.Fatal(err)
	}
	ended := create(time.Minute)
	now = now.Add(time.Minute)
	active := create(time.Hour)
	for _, tc := range []struct {
		s        Silence
		compiled bool
	}{{expired, false}, {ended, false}, {active, true}} {
		if got := st.byID[tc.s.ID].m != nil; got != tc.compiled {
			t.Errorf("silence ending %s: compiled matchers %v, want %v", tc.s.EndsAt.Sub(t0), got, tc.compiled)
		}
	}
}

// BenchmarkCreateLargest measures creating a silence at the largest the
// default bounds accept, of the shape that costs the most compiled (then
// expiring it, so that the store stays below MaxSilences).
func BenchmarkCreateLargest(b *testing.B) {
	cfg := Config{}.withDefaults()
	for _, shape := range silenceShapes {
		b.Run(shape.name, func(b *testing.B) {
			largest := largestSilence(cfg, shape.ms)
			if largest == nil {
				b.Skip("the bounds refuse every silence of this shape")
			}
			st := NewStore(Config{})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := largest(i % 1_000_000)
				i++
				s.EndsAt = t0.Add(time.Hour)
				got, err := st.Create(s, t0)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := st.Expire(got.ID, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
