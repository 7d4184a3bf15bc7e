package e2etest

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Dashboard is what the tests read of a Grafana dashboard.
type Dashboard struct {
	// UID and Title are the dashboard's.
	UID, Title string
	// Queries are the queries of every target of every panel, the nested
	// panels of rows included, in the dashboard's order: each named by its
	// panel's title, followed by the target's refId when the panel has
	// several targets, its PromQL with Grafana's interval variables
	// replaced by a window Prometheus accepts.
	Queries []Query
	// Blank names each target without an expr, as `panel "title" target
	// refId`; such targets have no entry in Queries.
	Blank []string
}

// grafanaVars replaces the interval variables Grafana fills in with a
// window Prometheus accepts.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m",
	"${__rate_interval}", "5m",
	"$__interval", "5m",
	"${__interval}", "5m",
	"$__range", "5m",
	"${__range}", "5m",
)

// ReadDashboard reads the Grafana dashboard at path. It fails the test if
// the file cannot be read or decoded, or has no panel query.
func ReadDashboard(t testing.TB, path string) Dashboard {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var raw struct {
		UID    string            `json:"uid"`
		Title  string            `json:"title"`
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	d := Dashboard{UID: raw.UID, Title: raw.Title}
	var walk func([]json.RawMessage)
	walk = func(panels []json.RawMessage) {
		for _, r := range panels {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					d.Blank = append(d.Blank, fmt.Sprintf("panel %q target %s", p.Title, tg.RefID))
					continue
				}
				name := p.Title
				if len(p.Targets) > 1 {
					name += " " + tg.RefID
				}
				d.Queries = append(d.Queries, Query{name, grafanaVars.Replace(tg.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(raw.Panels)
	if len(d.Queries) == 0 {
		t.Fatalf("%s: no panel queries", path)
	}
	return d
}
