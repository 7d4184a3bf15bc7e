package alerting

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// testdata/state_v1.json is a state file of version 1 with every field an
// alert and a silence can save: an alert muted by a silence, owed its
// firing and kept alive for Resenders; a flapping, acknowledged alert held
// firing with held-back firings; a pending alert with the resolved one it
// replaced; a resolved alert; active, expired and pending silences. An
// engine reads it and, at its next save, writes it back as it was: the
// format does not change, and nothing is lost on the way.
func TestStateFileFormat(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "state_v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "alerts.json")
	if err := os.WriteFile(path, golden, 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Config{StatePath: path})
	if got := len(h.eng.Alerts(Filter{IncludeResolved: true})); got != 4 {
		t.Fatalf("%d alerts read, want 4", got)
	}
	if got := len(h.eng.Silences()); got != 3 {
		t.Fatalf("%d silences read, want 3:\n%s", got, h.logs)
	}
	// A change saves the whole state: a silence that mutes none of the
	// alerts read.
	h.clk.Advance(time.Second)
	s := h.silence(time.Hour, eq("service", "nothing"))
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, got := canonicalState(t, golden), canonicalState(t, saved)
	sil := got["silences"].([]any)
	i := slices.IndexFunc(sil, func(v any) bool { return v.(map[string]any)["id"] == s.ID })
	if i < 0 {
		t.Fatalf("the new silence is not saved: %s", saved)
	}
	got["silences"] = slices.Delete(sil, i, i+1)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("saved state differs from what was read:\n%s\nwant\n%s", g, w)
	}
}

// canonicalState decodes a state file with its alerts in ID order.
func canonicalState(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	alerts := v["alerts"].([]any)
	slices.SortFunc(alerts, func(a, b any) int {
		return strings.Compare(a.(map[string]any)["alert"].(map[string]any)["id"].(string), b.(map[string]any)["alert"].(map[string]any)["id"].(string))
	})
	return v
}
