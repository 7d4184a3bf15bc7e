package main

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/listsync/otelmon/alerting"
)

var updateRules = flag.Bool("update-rules", false, "rewrite examples/prometheus/alerts.yml")

// exampleRules is the Prometheus rule file shipped with the example
// configuration: the twins of the default alert rules.
const exampleRules = "../prometheus/alerts.yml"

// TestExampleRulesAreCurrent keeps the shipped rule file equal to what
// alerting.PrometheusRules writes for the default rules.
func TestExampleRulesAreCurrent(t *testing.T) {
	want, err := alerting.PrometheusRules(alerting.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	if *updateRules {
		if err := os.WriteFile(exampleRules, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(exampleRules)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale; regenerate it with go test ./examples/listsync -run TestExampleRulesAreCurrent -update-rules", exampleRules)
	}
}
