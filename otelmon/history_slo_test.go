package otelmon

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The error budgets in the history: the Monitor's history reads them from
// its alert engine at every collection, and GET /history serves them under
// "slos", the bucket in progress holding the budget the status reports.
func TestHistorySLOBudgets(t *testing.T) {
	m, clk := newTestMonitor(t, DefaultConfig(), WithAPIKey(testKey))
	clk.Advance(clk.Now().Truncate(5 * time.Minute).Add(5 * time.Minute).Sub(clk.Now()))
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	sync := func(source string, ok bool) { m.RecordSyncOperation(ctx, source, ok, time.Second, 0, 0, 0) }
	evaluate := func() {
		if err := m.Alerts().Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	endMinute := func() {
		clk.Advance(time.Minute)
		m.hist.Collect(clk.Now().Add(-1))
	}

	// minute 0: a failed and a good imdb sync, but no evaluation yet.
	sync("imdb", false)
	sync("imdb", true)
	endMinute()
	// minute 1: evaluated: half of imdb's syncs failed against a 1 %
	// budget, 49 budgets overspent; trakt's first sync is good.
	sync("trakt", true)
	evaluate()
	endMinute()
	// minute 2, in progress: two more good imdb syncs, a quarter failed.
	sync("imdb", true)
	sync("imdb", true)
	evaluate()
	clk.Advance(30 * time.Second)

	var h struct {
		SLOs []struct {
			Name                 string            `json:"name"`
			Labels               map[string]string `json:"labels"`
			Objective            float64           `json:"objective"`
			Window               string            `json:"window"`
			ErrorBudgetRemaining []*float64        `json:"errorBudgetRemaining"`
		} `json:"slos"`
	}
	r := call(t, http.MethodGet, srv.URL+"/api/v3/monitoring/history?range=1h", testKey, "")
	if r.code != http.StatusOK {
		t.Fatalf("GET history: %d %s", r.code, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &h); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	want := map[string][]float64{"imdb": {nan, -49, -24}, "trakt": {nan, 1, 1}}
	if len(h.SLOs) != len(want) {
		t.Fatalf("%d objective series in the history, want imdb's and trakt's: %s", len(h.SLOs), r.body)
	}
	st := m.Status()
	for i, s := range h.SLOs {
		src := s.Labels["source"]
		if s.Name != "sync_success" || s.Objective != 0.99 || s.Window != "30d" || len(s.ErrorBudgetRemaining) != 60 {
			t.Errorf("series %d: %s %v %v over %s, %d buckets; want sync_success 0.99 over 30d, 60 buckets",
				i, s.Name, s.Labels, s.Objective, s.Window, len(s.ErrorBudgetRemaining))
		}
		if got := tail(vals(s.ErrorBudgetRemaining), 3); !sameVals(got, want[src]) {
			t.Errorf("%s's budget in the last 3 buckets %v, want %v", src, got, want[src])
		}
		// The bucket in progress holds what the status reports.
		for _, ss := range st.SLOs {
			if ss.Labels["source"] == src && float32(ss.ErrorBudgetRemaining) != float32(*s.ErrorBudgetRemaining[59]) {
				t.Errorf("%s: history's last budget %v, the status' %v", src, *s.ErrorBudgetRemaining[59], ss.ErrorBudgetRemaining)
			}
		}
	}
}
