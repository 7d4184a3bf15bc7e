package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultStatePath(t *testing.T) {
	home := func(dir string, err error) func() (string, error) {
		return func() (string, error) { return dir, err }
	}
	for _, tc := range []struct {
		name string
		xdg  string
		home func() (string, error)
		want string
	}{
		{"XDG_STATE_HOME", "/var/lib/u/state", home("/home/u", nil), "/var/lib/u/state/otelmon-listsync/alerts.json"},
		{"home", "", home("/home/u", nil), "/home/u/.local/state/otelmon-listsync/alerts.json"},
		{"relative XDG_STATE_HOME is ignored", "state", home("/home/u", nil), "/home/u/.local/state/otelmon-listsync/alerts.json"},
		{"no home", "", home("", errors.New("$HOME is not defined")), ""},
		{"relative home", "", home("u", nil), ""},
		{"XDG_STATE_HOME without home", "/state", home("", errors.New("$HOME is not defined")), "/state/otelmon-listsync/alerts.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "XDG_STATE_HOME" {
					return tc.xdg
				}
				return ""
			}
			if got := defaultStatePath(getenv, tc.home); got != filepath.FromSlash(tc.want) {
				t.Fatalf("defaultStatePath = %q, want %q", got, tc.want)
			}
		})
	}
}

// silenceAndRestart starts the demo with args, creates a silence through
// the API, stops the demo and starts it again with the same args; it
// returns the silence's ID, the second demo's address and the first one's
// stdout.
func silenceAndRestart(t *testing.T, key string, args ...string) (id, addr, stdout string) {
	t.Helper()
	args = append([]string{"-api-key", key}, args...)
	addr, out, _, stop := startDemo(t, args...)
	body := `{"matchers":[{"name":"service","value":"imdb"}],"endsAt":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) +
		`","comment":"kept across a restart"}`
	var created struct{ ID string }
	apiCall(t, "POST", "http://"+addr+"/api/v3/monitoring/silences", key, body, 201, &created)
	if err := stop(); err != nil {
		t.Fatalf("first demo: %v", err)
	}
	addr, _, _, stop = startDemo(t, args...)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("second demo: %v", err)
		}
	})
	return created.ID, addr, out.String()
}

// A silence made before a restart is listed after it, when the demo keeps
// its state (-state, or by default the user's state directory), and not
// with -state "".
func TestDemoRemembersSilences(t *testing.T) {
	const key = "state-test-key"
	for _, tc := range []struct {
		name string
		args func(dir string) []string
		want string // the state file, or "" for none
	}{
		{"-state", func(dir string) []string { return []string{"-state", filepath.Join(dir, "alerts.json")} },
			"alerts.json"},
		{"default", func(dir string) []string { t.Setenv("XDG_STATE_HOME", dir); return nil },
			filepath.Join("otelmon-listsync", "alerts.json")},
		{"-state \"\"", func(dir string) []string { t.Setenv("XDG_STATE_HOME", dir); return []string{"-state", ""} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			id, addr, stdout := silenceAndRestart(t, key, tc.args(dir)...)
			var silences []struct {
				ID     string
				Status struct{ State string }
			}
			apiCall(t, "GET", "http://"+addr+"/api/v3/monitoring/silences", key, "", 200, &silences)
			kept := len(silences) == 1 && silences[0].ID == id && silences[0].Status.State == "active"
			if tc.want == "" {
				if len(silences) != 0 {
					t.Fatalf("-state \"\" kept %+v", silences)
				}
				if !strings.Contains(stdout, "alert state: not kept") {
					t.Fatalf("stdout does not say nothing is kept:\n%s", stdout)
				}
				if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
					t.Fatalf("-state \"\" wrote %v (%v)", entries, err)
				}
				return
			}
			path := filepath.Join(dir, tc.want)
			if !kept {
				t.Fatalf("silences after a restart = %+v, want %s active", silences, id)
			}
			if !strings.Contains(stdout, "alert state: "+path) {
				t.Fatalf("stdout does not name %s:\n%s", path, stdout)
			}
			fi, err := os.Stat(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "default" && fi.Mode().Perm() != 0o700 {
				t.Fatalf("state directory mode %v, want 0700", fi.Mode().Perm())
			}
			if data, err := os.ReadFile(path); err != nil || !strings.Contains(string(data), id) {
				t.Fatalf("%s does not hold the silence: %v", path, err)
			}
		})
	}
}
