package main

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/e2etest"
	"github.com/listsync/otelmon/otelmon"
)

// budgetsSummary is what status-budgets.mjs prints: what the page showed
// of each objective series, the points of imdb's budget chart, and the
// status and history answers the page drew them from.
type budgetsSummary struct {
	Rows  []budgetRow `json:"rows"`
	Chart struct {
		Points []string `json:"points"`
	} `json:"chart"`
	Status struct {
		SLOs []otelmon.SLOStatus `json:"slos"`
	} `json:"status"`
	History struct {
		SLOs []struct {
			Name                 string            `json:"name"`
			Labels               map[string]string `json:"labels"`
			ErrorBudgetRemaining []*float64        `json:"errorBudgetRemaining"`
		} `json:"slos"`
	} `json:"history"`
}

// budgetRow is what the page shows of one objective series.
type budgetRow struct {
	SLO       string `json:"slo"`
	Series    string `json:"series"`
	Objective string `json:"objective"`
	Budget    string `json:"budget"`
	Overspent string `json:"overspent"`
	Bar       string `json:"bar"`
	Burns     []struct {
		Window string `json:"window"`
		Text   string `json:"text"`
		Above  string `json:"above"`
	} `json:"burns"`
	Feeds   []string `json:"feeds"`
	Errors  string   `json:"errors"`
	Covered string   `json:"covered"`
}

// TestStatusPageBudgets opens the status page in headless Chromium against
// the demo with every other imdb sync failing (-flaky imdb), once the API
// reports imdb's budget below zero: the page's "Error budgets" section
// shows it overspent, with its burn rates marked above the page's factor,
// and the History section charts it (internal/e2etest/browser/
// status-budgets.mjs). The page's refresh is paused, so what it shows was
// drawn from one status answer, which the script captures: every value
// shown is that answer's, as the page writes it, and the answer is the
// API's (a fresh GET lists the same series, further on).
func TestStatusPageBudgets(t *testing.T) {
	const key = "status-budgets-test-key"
	addr := demo(t, "-api-key", key, "-flaky", "imdb", "-sync-interval", "200ms", "-health-interval", "200ms", "-eval-interval", "100ms")
	base := "http://" + addr + "/api/v3/monitoring/"
	imdbOf := func(slos []otelmon.SLOStatus) *otelmon.SLOStatus {
		for i, s := range slos {
			if s.Name == alerting.SLOSyncSuccess && s.Labels["source"] == "imdb" {
				return &slos[i]
			}
		}
		return nil
	}
	poll(t, time.Minute, "a budget per source, imdb's below zero, in the status and the history", func() error {
		var st otelmon.Status
		if err := getAPI(base+"status", key, &st); err != nil {
			return err
		}
		if s := imdbOf(st.SLOs); s == nil || s.ErrorBudgetRemaining >= 0 || len(s.BurnRates) == 0 || len(st.SLOs) != len(services) {
			return fmt.Errorf("imdb's objective %+v, %d series", s, len(st.SLOs))
		}
		var h struct {
			SLOs []struct {
				Labels map[string]string `json:"labels"`
			} `json:"slos"`
		}
		if err := getAPI(base+"history", key, &h); err != nil {
			return err
		}
		for _, s := range h.SLOs {
			if s.Labels["source"] == "imdb" {
				return nil
			}
		}
		return fmt.Errorf("no imdb budget in the history: %+v", h.SLOs)
	})

	out := e2etest.RunBrowserScript(t, "status-budgets.mjs", 90*time.Second,
		"STATUS_PAGE_URL=http://"+addr+"/", "STATUS_PAGE_API_KEY="+key)
	var sum budgetsSummary
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("status-budgets.mjs printed no summary: %v\n%s", err, out)
	}

	// The answer the page drew is the API's: a fresh one lists the same
	// series, imdb's still overspent and counted further.
	var fresh otelmon.Status
	if err := getAPI(base+"status", key, &fresh); err != nil {
		t.Fatal(err)
	}
	seriesOf := func(slos []otelmon.SLOStatus) []string {
		var out []string
		for _, s := range slos {
			out = append(out, fmt.Sprintf("%s %v %v %s", s.Name, s.Labels, s.Objective, s.Window))
		}
		slices.Sort(out)
		return out
	}
	if got, want := seriesOf(sum.Status.SLOs), seriesOf(fresh.SLOs); !slices.Equal(got, want) || len(got) != len(services) {
		t.Errorf("the page drew the series %q, the API lists %q; want one per source", got, want)
	}
	drawn, now := imdbOf(sum.Status.SLOs), imdbOf(fresh.SLOs)
	if drawn == nil || now == nil || drawn.ErrorBudgetRemaining >= 0 || now.ErrorBudgetRemaining >= 0 || now.Events < drawn.Events {
		t.Fatalf("imdb's objective as drawn %+v, as the API reports it now %+v", drawn, now)
	}

	// Every value shown is the answer's.
	if len(sum.Rows) != len(sum.Status.SLOs) {
		t.Errorf("the page shows %d objective series, the answer has %d", len(sum.Rows), len(sum.Status.SLOs))
	}
	for _, s := range sum.Status.SLOs {
		series := s.Labels["source"]
		i := slices.IndexFunc(sum.Rows, func(r budgetRow) bool { return r.SLO == s.Name && r.Series == series })
		if i < 0 {
			t.Errorf("no row for %s of %s", s.Name, series)
			continue
		}
		r := sum.Rows[i]
		if series == "imdb" {
			t.Logf("imdb as shown: %s, %s; burn rates %+v; %q", r.Budget, r.Overspent, r.Burns, r.Feeds)
		}
		want := fmt.Sprintf("%s · %s %% over %s", s.Name, strconv.FormatFloat(math.Round(s.Objective*1e5)/1e3, 'f', -1, 64), s.Window)
		if r.Objective != want {
			t.Errorf("%s: objective shown %q, want %q", series, r.Objective, want)
		}
		b := s.ErrorBudgetRemaining
		shownAbout(t, series+"'s budget left", r.Budget, `^(−?[\d.]+)\x{a0}% left$`, 100*b)
		shownAbout(t, series+"'s budget bar", r.Bar, `^([\d.]+)%$`, 100*min(max(b, 0), 1))
		if b < 0 {
			shownAbout(t, series+"'s overspending", r.Overspent, `^overspent: ([\d.]+)× the budget used$`, 1-b)
		} else if r.Overspent != "" {
			t.Errorf("%s: %q shown for a budget of %v", series, r.Overspent, b)
		}
		if want := fmt.Sprintf("%d errors in %d syncs", int(math.Round(s.Errors)), int(math.Round(s.Events))); r.Errors != want {
			t.Errorf("%s: errors shown %q, want %q", series, r.Errors, want)
		}
		if want := coveredText(s.CoveredSeconds, s.Window); r.Covered != want {
			t.Errorf("%s: covered shown %q, want %q", series, r.Covered, want)
		}
		// Burn rates: each window, marked as the rules' factors say (the
		// default rules' pairs, listed by the status), and the rules they
		// feed named.
		if !slices.Equal(s.Alerts, defaultAlerts()) {
			t.Errorf("%s: alert pairs %+v, want the default rules' %+v", series, s.Alerts, defaultAlerts())
		}
		rules := burnRulesOf(s.Alerts)
		rates := map[string]float64{}
		for _, br := range s.BurnRates {
			rates[br.Window] = br.BurnRate
		}
		if len(r.Burns) != len(s.BurnRates) {
			t.Errorf("%s: %d burn rates shown, the answer has %d", series, len(r.Burns), len(s.BurnRates))
		}
		for _, shown := range r.Burns {
			v, ok := rates[shown.Window]
			if !ok {
				t.Errorf("%s: burn rate over %s shown, not in the answer", series, shown.Window)
				continue
			}
			shownAbout(t, series+"'s burn rate over "+shown.Window, shown.Text, `^`+shown.Window+` ([\d.]+)×$`, v)
			if want := aboveKind(rules, shown.Window, rates); shown.Above != want {
				t.Errorf("%s: burn rate %v over %s marked %q, want %q", series, v, shown.Window, shown.Above, want)
			}
		}
		if want := feeds(rules, rates); !slices.Equal(r.Feeds, want) {
			t.Errorf("%s: the page says %q of the rules fed, want %q", series, r.Feeds, want)
		}
		if series == "imdb" && (len(r.Feeds) == 0 || !strings.HasPrefix(r.Feeds[0], alerting.RuleSLOBurnRatePage+": ")) {
			t.Errorf("imdb's row does not say it feeds the page: %q", r.Feeds)
		}
	}

	// The chart: a point per bucket of imdb's history with a budget, the
	// last one the answer's last value.
	var values []float64
	for _, s := range sum.History.SLOs {
		if s.Name == alerting.SLOSyncSuccess && s.Labels["source"] == "imdb" {
			for _, v := range s.ErrorBudgetRemaining {
				if v != nil {
					values = append(values, *v)
				}
			}
		}
	}
	if len(values) == 0 || len(sum.Chart.Points) != len(values) {
		t.Fatalf("imdb's chart has %d points, its history %d buckets with a budget", len(sum.Chart.Points), len(values))
	}
	last := values[len(values)-1]
	shownAbout(t, "imdb's last budget in the chart", sum.Chart.Points[len(values)-1], `budget (−?[\d.]+)\x{a0}% left$`, 100*last)
	if last >= 0 {
		t.Errorf("imdb's last budget in the history %v, want below zero", last)
	}
}

// shownAbout checks that text matches pattern and that its number (the
// first group, "−" a minus) is v as the page rounds it: to the digits it
// shows.
func shownAbout(t *testing.T, what, text, pattern string, v float64) {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(text)
	if m == nil {
		t.Errorf("%s shown as %q, want it to match %s", what, text, pattern)
		return
	}
	num := strings.Replace(m[1], "−", "-", 1)
	got, err := strconv.ParseFloat(num, 64)
	if err != nil {
		t.Errorf("%s shown as %q: %v", what, text, err)
		return
	}
	tol := 0.5
	if i := strings.IndexByte(num, '.'); i >= 0 {
		tol = 0.5 * math.Pow10(-(len(num) - i - 1))
	}
	if math.Abs(got-v) > tol+1e-9 {
		t.Errorf("%s shown as %q, the answer says %v", what, text, v)
	}
}

// coveredText is what the page writes of the window covered: "18 s of
// 30d" while the process is younger than the window.
func coveredText(covered float64, window string) string {
	w, err := model.ParseDuration(window)
	if err != nil || covered >= time.Duration(w).Seconds() {
		return "the whole " + window
	}
	s := math.Round(covered)
	switch m := math.Round(s / 60); {
	case s < 60:
		return fmt.Sprintf("%.0f s of %s", s, window)
	case m < 60:
		return fmt.Sprintf("%.0f min of %s", m, window)
	default:
		h := math.Floor(m / 60)
		if r := m - 60*h; r > 0 {
			return fmt.Sprintf("%.0f h %.0f min of %s", h, r, window)
		}
		return fmt.Sprintf("%.0f h of %s", h, window)
	}
}

// burnRule is a burn-rate rule and its window pairs, as the status lists
// them: what the page must mark.
type burnRule struct {
	rule, kind string
	pairs      []otelmon.SLOBurnAlert
}

// burnRulesOf groups a series' alert pairs by rule, critical rules (the
// page's marks) first.
func burnRulesOf(alerts []otelmon.SLOBurnAlert) []burnRule {
	var out []burnRule
	for _, a := range alerts {
		i := slices.IndexFunc(out, func(r burnRule) bool { return r.rule == a.Rule })
		if i < 0 {
			kind := "ticket"
			if a.Level == "critical" {
				kind = "page"
			}
			out, i = append(out, burnRule{rule: a.Rule, kind: kind}), len(out)
		}
		out[i].pairs = append(out[i].pairs, a)
	}
	slices.SortStableFunc(out, func(a, b burnRule) int { return strings.Compare(a.kind, b.kind) }) // "page" < "ticket"
	return out
}

// defaultAlerts are the pairs of the default burn-rate rules, as the
// alerting package defines them: what the demo's status must list.
func defaultAlerts() []otelmon.SLOBurnAlert {
	var out []otelmon.SLOBurnAlert
	for _, r := range []struct {
		rule, level string
		pairs       []alerting.BurnWindow
	}{
		{alerting.RuleSLOBurnRatePage, "critical", alerting.PageWindows()},
		{alerting.RuleSLOBurnRateTicket, "warning", alerting.TicketWindows()},
	} {
		for _, p := range r.pairs {
			out = append(out, otelmon.SLOBurnAlert{Rule: r.rule, Level: r.level, Long: promDuration(p.Long), Short: promDuration(p.Short), Factor: p.Factor})
		}
	}
	return out
}

func promDuration(d time.Duration) string { return model.Duration(d).String() }

// aboveKind is how the page must mark the burn rate over window: "page"
// when above the factor of a critical rule's pair it is in, else "ticket"
// when above another's, else "".
func aboveKind(rules []burnRule, window string, rates map[string]float64) string {
	for _, r := range rules {
		for _, p := range r.pairs {
			if (p.Long == window || p.Short == window) && rates[window] > p.Factor {
				return r.kind
			}
		}
	}
	return ""
}

// feeds is what the page must say of the rules the burn rates feed: per
// rule, its pairs with a window above the factor.
func feeds(rules []burnRule, rates map[string]float64) []string {
	out := []string{}
	for _, r := range rules {
		var said []string
		for _, p := range r.pairs {
			long, short := p.Long, p.Short
			f := strconv.FormatFloat(p.Factor, 'g', -1, 64)
			l, s := rates[long] > p.Factor, rates[short] > p.Factor
			switch {
			case l && s:
				said = append(said, fmt.Sprintf("%s and %s above %s×", long, short, f))
			case l:
				said = append(said, fmt.Sprintf("%s above %s× (%s not)", long, f, short))
			case s:
				said = append(said, fmt.Sprintf("%s above %s× (%s not)", short, f, long))
			}
		}
		if len(said) > 0 {
			out = append(out, r.rule+": "+strings.Join(said, "; "))
		}
	}
	return out
}
