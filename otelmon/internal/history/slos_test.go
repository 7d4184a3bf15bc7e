package history

import (
	"encoding/json"
	"maps"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

// fakeSLOs is an SLOLister whose answer the test sets.
type fakeSLOs struct {
	mu  sync.Mutex
	out []alerting.SLOStatus
}

func (f *fakeSLOs) SLOs() []alerting.SLOStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out
}

// set makes the lister answer one series per value of budgets, each of
// the sync success objective (99 % over 30 days) for that source.
func (f *fakeSLOs) set(budgets map[string]float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.out = nil
	for src, b := range budgets {
		f.out = append(f.out, alerting.SLOStatus{Name: "sync_success", Labels: map[string]string{"source": src},
			Objective: 0.99, Window: 30 * 24 * time.Hour, ErrorBudgetRemaining: b})
	}
}

// sloVals returns the budgets of source's series in h, as numbers.
func sloVals(t *testing.T, h JSON, source string) []float64 {
	t.Helper()
	for _, s := range h.SLOs {
		if s.Labels["source"] == source {
			out := make([]float64, len(s.ErrorBudgetRemaining))
			for i, v := range s.ErrorBudgetRemaining {
				out[i] = float64(v)
			}
			return out
		}
	}
	t.Fatalf("no objective series for %s in %+v", source, h.SLOs)
	return nil
}

// The error budget of each objective series, bucket by bucket: the last
// reading of each bucket, the bucket in progress included; nothing before
// the series was listed, nor in a bucket whose collections did not list
// it; exactly 0 is a value, not a gap. The 24h range keeps the last
// reading of each five minutes.
func TestHistorySLOs(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0).Truncate(5 * time.Minute))
	reader, _ := readerProvider(t)
	h := New(reader, clk, names.Default)
	lister := &fakeSLOs{}
	h.SampleSLOs(lister, 10)
	endMinute := func() {
		clk.Advance(time.Minute)
		h.Collect(clk.Now().Add(-1))
	}

	endMinute() // minute 0: no evaluation yet, no series
	lister.set(map[string]float64{"imdb": 1, "trakt": 1})
	endMinute() // minute 1
	lister.set(map[string]float64{"imdb": 0.5, "trakt": 1})
	clk.Advance(30 * time.Second)
	h.Collect(clk.Now()) // a query's top-up in minute 2
	lister.set(map[string]float64{"imdb": 0, "trakt": 1})
	clk.Advance(30 * time.Second)
	h.Collect(clk.Now().Add(-1)) // minute 2 ends with imdb's budget spent
	lister.set(map[string]float64{"imdb": -49})
	endMinute() // minute 3: trakt not listed
	lister.set(map[string]float64{"imdb": -49.5, "trakt": 0.25})
	clk.Advance(10 * time.Second)
	h.Collect(clk.Now()) // minute 4 in progress

	rg, _ := ParseRange("1h")
	got := h.Snapshot("1h", rg, clk.Now())
	if len(got.SLOs) != 2 {
		t.Fatalf("%d objective series, want imdb's and trakt's: %+v", len(got.SLOs), got.SLOs)
	}
	imdb := got.SLOs[0]
	if imdb.Name != "sync_success" || imdb.Objective != 0.99 || imdb.Window != "30d" || !maps.Equal(imdb.Labels, map[string]string{"source": "imdb"}) {
		t.Errorf("first series %+v, want imdb's sync_success, 0.99 over 30d", imdb)
	}
	if got.SLOs[1].Labels["source"] != "trakt" {
		t.Errorf("second series %v, want trakt's (ordered by labels)", got.SLOs[1].Labels)
	}
	for _, tc := range []struct {
		source string
		want   []float64
	}{
		{"imdb", []float64{nan, 1, 0, -49, -49.5}},
		{"trakt", []float64{nan, 1, 1, nan, 0.25}},
	} {
		if v := sloVals(t, got, tc.source); len(v) != 60 || !sameVals(tail64(v, 5), tc.want) {
			t.Errorf("%s: %d buckets, last 5 %v, want %v", tc.source, len(v), tail64(v, 5), tc.want)
		}
	}

	// The 24h range: one five-minute bucket holds minutes 0 to 4, and
	// the last reading.
	rg, _ = ParseRange("24h")
	day := h.Snapshot("24h", rg, clk.Now())
	if v := sloVals(t, day, "imdb"); len(v) != 288 || !sameVals(tail64(v, 2), []float64{nan, -49.5}) {
		t.Errorf("imdb over 24h: %d buckets, last 2 %v, want [NaN -49.5]", len(v), tail64(v, 2))
	}

	// The JSON: null for no value, the number as read.
	b, err := json.Marshal(got.SLOs[0])
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Name                 string            `json:"name"`
		Labels               map[string]string `json:"labels"`
		Objective            float64           `json:"objective"`
		Window               string            `json:"window"`
		ErrorBudgetRemaining []*float64        `json:"errorBudgetRemaining"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	last := back.ErrorBudgetRemaining[len(back.ErrorBudgetRemaining)-5:]
	if last[0] != nil || last[2] == nil || *last[2] != 0 || *last[4] != -49.5 || back.Window != "30d" || back.Objective != 0.99 {
		t.Errorf("JSON %s", b)
	}
}

// A history that samples no budgets answers an empty list, not null.
func TestHistorySLOsNone(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	reader, _ := readerProvider(t)
	h := New(reader, clk, names.Default)
	h.Collect(clk.Now())
	rg, _ := ParseRange("1h")
	b, err := json.Marshal(h.Snapshot("1h", rg, clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	if string(body["slos"]) != "[]" {
		t.Errorf("slos %s, want []", body["slos"])
	}
}

// At most perObjective series of each objective are kept; another
// objective (another target) counts apart; a series no collection listed
// for 24 hours is forgotten and frees its place.
func TestHistorySLOsBounded(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	reader, _ := readerProvider(t)
	h := New(reader, clk, names.Default)
	lister := &fakeSLOs{}
	h.SampleSLOs(lister, 2)
	lister.set(map[string]float64{"a": 1, "b": 1})
	h.Collect(clk.Now())
	lister.set(map[string]float64{"a": 1, "b": 1, "c": 1})
	strict := alerting.SLOStatus{Name: "sync_success", Labels: map[string]string{"source": "c"},
		Objective: 0.999, Window: 30 * 24 * time.Hour, ErrorBudgetRemaining: 0.5}
	lister.out = append(lister.out, strict)
	clk.Advance(time.Minute)
	h.Collect(clk.Now())
	sources := func() map[string]int {
		rg, _ := ParseRange("1h")
		out := map[string]int{}
		for _, s := range h.Snapshot("1h", rg, clk.Now()).SLOs {
			out[s.Labels["source"]+"@"+formatObjective(s.Objective)]++
		}
		return out
	}
	if got, want := sources(), map[string]int{"a@0.99": 1, "b@0.99": 1, "c@0.999": 1}; !maps.Equal(got, want) {
		t.Errorf("series kept %v, want %v: c's 99 %% series is past the bound", got, want)
	}
	// a and b stop being listed; after 24 hours they are forgotten and c
	// takes a place.
	lister.set(map[string]float64{"c": 1})
	for range 24*60 + 2 { // forgotten at the end of the collection 24 hours later, then c
		clk.Advance(time.Minute)
		h.Collect(clk.Now())
	}
	if got, want := sources(), map[string]int{"c@0.99": 1}; !maps.Equal(got, want) {
		t.Errorf("series kept %v, want %v", got, want)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.slos.perDef) != 1 {
		t.Errorf("counts of %d objectives kept, want 1: %v", len(h.slos.perDef), h.slos.perDef)
	}
}

func formatObjective(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// tail64 returns the last n values of s.
func tail64(s []float64, n int) []float64 { return s[len(s)-n:] }

// The zero point is no value; every float32 budget, 0 and negative
// included, reads back as stored.
func TestBudgetPoint(t *testing.T) {
	var zero budgetPoint
	if !math.IsNaN(float64(zero.value())) {
		t.Errorf("the zero point reads %v, want NaN", zero.value())
	}
	for _, v := range []float64{0, 1, -49, 0.25, math.Copysign(0, -1), -1e6} {
		if got := budgetOf(v).value(); float64(got) != v {
			t.Errorf("budget %v reads back %v", v, got)
		}
	}
}
