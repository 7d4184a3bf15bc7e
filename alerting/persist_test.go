package alerting

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/names"
)

// restart builds a second engine on the same state file, as a process
// restart would, with fresh instruments and the clock where it was.
func restart(t *testing.T, old *harness, cfg Config) *harness {
	t.Helper()
	ctx := context.Background()
	if err := old.eng.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, cfg)
	h.clk.Advance(old.clk.Now().Sub(t0))
	return h
}

func TestPersistenceAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "alerts.json")
	cfg := Config{StatePath: path}

	h := newHarness(t, cfg)
	h.addRules(DefaultRules()...)
	h.up.Record(ctx, 0, svc("plex"))
	h.failures.Record(ctx, 3, src("imdb"))
	h.eval()
	if got := kinds(h.drain()); len(got) != 2 {
		t.Fatalf("first run notified %q", got)
	}
	plex := alertID(RuleServiceDown, labels(names.AttrService, "plex"))
	imdb := alertID(RuleConsecutiveSyncFailures, labels(names.AttrSource, "imdb"))
	h.clk.Advance(time.Minute)
	if _, err := h.eng.Acknowledge(plex, "alice", "known outage"); err != nil {
		t.Fatal(err)
	}

	// Restart: same conditions still hold.
	h2 := restart(t, h, cfg)
	h2.addRules(DefaultRules()...)
	a, ok := h2.eng.Alert(plex)
	if !ok || a.State != Firing || !a.Acknowledged || a.AcknowledgedBy != "alice" || a.AcknowledgeComment != "known outage" {
		t.Fatalf("restored alert = %+v, %v", a, ok)
	}
	if c := h2.eng.CountsByLevel(); c[Critical] != 1 || c[Warning] != 1 {
		t.Fatalf("restored counts %v", c)
	}
	h2.up.Record(ctx, 0, svc("plex"))
	h2.failures.Record(ctx, 4, src("imdb"))
	h2.step(time.Minute)
	if got := h2.drain(); len(got) != 0 {
		t.Fatalf("restart notified again: %q", summary(got))
	}
	// The rate limit's clock survived too: consecutive_sync_failures is
	// reminded 30 minutes after its first notification, not after the
	// restart.
	h2.clk.Advance(28 * time.Minute)
	h2.eval()
	if got := summary(h2.drain()); !slices.Equal(got, []string{"consecutive_sync_failures:firing:source=imdb"}) {
		t.Fatalf("reminder after 30 min: %q", got)
	}

	// Resolution after the restart is notified exactly once.
	h2.up.Record(ctx, 1, svc("plex"))
	h2.step(time.Minute)
	if got := summary(h2.drain()); !slices.Equal(got, []string{"service_down:resolved:service=plex"}) {
		t.Fatalf("notifications %q", got)
	}
	h3 := restart(t, h2, cfg)
	h3.addRules(DefaultRules()...)
	h3.up.Record(ctx, 1, svc("plex"))
	h3.failures.Record(ctx, 4, src("imdb"))
	h3.step(time.Minute)
	if got := h3.drain(); len(got) != 0 {
		t.Fatalf("second restart notified %q", summary(got))
	}
	if a, _ := h3.eng.Alert(plex); a.State != Resolved || a.ResolvedAt == nil {
		t.Fatalf("resolved alert after restart: %+v", a)
	}
	if a, _ := h3.eng.Alert(imdb); a.State != Firing {
		t.Fatalf("firing alert after restart: %+v", a)
	}
	if got := dirNames(t, filepath.Dir(path)); !slices.Equal(got, []string{"alerts.json", "alerts.json.lock"}) {
		t.Fatalf("state directory holds %q, want the state file and its lock (no temporaries)", got)
	}
}

func TestRestoredAlertOfMissingRuleResolves(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "alerts.json")
	h := newHarness(t, Config{StatePath: path})
	h.addRules(Rule{Name: "gone", Condition: ServiceDown{}})
	h.up.Record(ctx, 0, svc("plex"))
	h.eval()
	h.drain()
	h2 := restart(t, h, Config{StatePath: path})
	h2.step(time.Minute) // no rule "gone" any more, but it may still be added
	if got := h2.drain(); len(got) != 0 {
		t.Fatalf("resolved within the restore grace: %q", summary(got))
	}
	h2.step(DefaultRestoreGrace) // still no rule: the alert resolves
	if got := summary(h2.drain()); !slices.Equal(got, []string{"gone:resolved:service=plex"}) {
		t.Fatalf("notifications %q", got)
	}
}

func TestCorruptStateFile(t *testing.T) {
	cases := map[string]string{
		"not json":        "{{{ nope",
		"unknown version": `{"version": 99, "alerts": []}`,
		"bad level":       `{"version": 1, "alerts": [{"alert": {"id": "x", "rule": "r", "level": "loud", "state": "firing"}}]}`,
		"missing id":      `{"version": 1, "alerts": [{"alert": {"rule": "r", "level": "info", "state": "firing"}}]}`,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, Config{StatePath: path})
			if !h.logs.Contains("corrupt alert state file moved aside") {
				t.Fatalf("not reported: %s", h.logs.String())
			}
			aside := path + ".corrupt-20250301T120000Z" // t0, the fake clock's time
			if b, err := os.ReadFile(aside); err != nil || string(b) != content {
				t.Fatalf("corrupt file not moved aside to %s: %v", aside, err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("corrupt file still in place: %v", err)
			}
			// The engine works and writes a fresh state.
			h.addRules(DefaultRules()...)
			h.up.Record(context.Background(), 0, svc("plex"))
			h.eval()
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("no fresh state written: %v", err)
			}
		})
	}
}

// A second corrupt file, even at the same second, never replaces the copy
// of the first one.
func TestCorruptStateFileTwiceKeepsBothCopies(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.json")
	// A copy from an earlier version's naming is left alone too.
	if err := os.WriteFile(path+".corrupt", []byte("older"), 0o600); err != nil {
		t.Fatal(err)
	}
	var h *harness
	for _, content := range []string{"first {", "second {"} {
		if h != nil {
			if err := h.eng.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		h = newHarness(t, Config{StatePath: path})
	}
	want := map[string]string{
		"alerts.json.corrupt":                    "older",
		"alerts.json.corrupt-20250301T120000Z":   "first {",
		"alerts.json.corrupt-20250301T120000Z-2": "second {",
	}
	for name, content := range want {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != content {
			t.Errorf("%s = %q, %v; want %q", name, b, err, content)
		}
	}
	if got := dirNames(t, dir); len(got) != len(want)+1 { // and the lock file
		t.Fatalf("directory holds %q", got)
	}
}

// A state file that exists but cannot be read makes New fail, and is left
// as it was: starting empty would overwrite it at the first save.
func TestUnreadableStateFileFailsNew(t *testing.T) {
	cases := []struct {
		name    string
		arrange func(t *testing.T, path string)
		is      error // what the error wraps, besides the path
	}{
		// A file the process cannot read whoever runs it, root included
		// (as CI does, where a file without permissions would be read): it
		// takes the branch a permission error takes.
		{"path is a directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, syscall.EISDIR},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "alerts.json")
			tc.arrange(t, path)
			before, _ := os.Lstat(path)
			_, err := New(Config{StatePath: path})
			if err == nil {
				t.Fatal("New succeeded on an unreadable state file")
			}
			if !strings.Contains(err.Error(), path) || errors.Is(err, ErrStateLocked) {
				t.Fatalf("error %q should name %s and not be ErrStateLocked", err, path)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), "cannot read alert state") {
				t.Fatalf("error %v is not the read's, wrapping %v", err, tc.is)
			}
			after, aerr := os.Lstat(path)
			if aerr != nil || after.Mode() != before.Mode() || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
				t.Fatalf("state file changed: %v", aerr)
			}
			if got := dirNames(t, dir); !slices.Equal(got, []string{"alerts.json", "alerts.json.lock"}) {
				t.Fatalf("directory holds %q", got)
			}
			// New released its lock when it failed.
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			eng, err := New(Config{StatePath: path})
			if err != nil {
				t.Fatalf("New after the file was fixed: %v", err)
			}
			if err := eng.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUnwritableStateDirectoryFailsNew(t *testing.T) {
	cases := []struct {
		name    string
		arrange func(t *testing.T, dir string) string // returns the state path
		is      error                                 // what the error wraps
		says    string                                // the step that failed
	}{
		{"missing directory", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "missing", "alerts.json")
		}, fs.ErrNotExist, "lock file"},
		{"under a regular file", func(t *testing.T, dir string) string {
			// Fails for every user, root included.
			file := filepath.Join(dir, "file")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(file, "alerts.json")
		}, syscall.ENOTDIR, "resolve alert state path"},
		{"no file can be created in it", func(t *testing.T, dir string) string {
			// A directory that is not writable is written by root (as CI
			// runs), so the save is made impossible another way: the
			// state file's name leaves no room for the suffix of a
			// temporary file (NAME_MAX is 255 bytes), while the lock
			// file's name still fits.
			path := filepath.Join(dir, strings.Repeat("a", 250))
			// The lock file exists (and can be opened), so it is the
			// probe that finds no file can be saved there.
			if err := os.WriteFile(path+".lock", nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}, syscall.ENAMETOOLONG, "is not writable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.arrange(t, t.TempDir())
			_, err := New(Config{StatePath: path})
			if err == nil {
				t.Fatal("New succeeded with a state file that cannot be written")
			}
			if !strings.Contains(err.Error(), filepath.Dir(path)) {
				t.Fatalf("error %q does not name the directory", err)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %v does not wrap %v or say %q", err, tc.is, tc.says)
			}
		})
	}
}

// Temporary files of saves a crash interrupted are removed at start; other
// files are not.
func TestStaleTemporaryStateFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.json")
	valid := `{"version": 1, "alerts": []}`
	if err := os.WriteFile(path, []byte(valid), 0o600); err != nil {
		t.Fatal(err)
	}
	// What writeAtomic leaves when the process dies between creating its
	// temporary file and renaming it: a partial state.
	for range 3 {
		f, err := os.CreateTemp(dir, "alerts.json"+tmpInfix+"*")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(valid[:7]); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	others := []string{"other.json.tmp-1", "alerts.json.tmpx", "alerts.jsonx.tmp-1"}
	for _, name := range others {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, Config{StatePath: path})
	want := append([]string{"alerts.json", "alerts.json.lock"}, others...)
	slices.Sort(want)
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("directory holds %q, want %q", got, want)
	}
	if n := strings.Count(h.logs.String(), "removed temporary state file"); n != 3 {
		t.Fatalf("%d removals logged, want 3: %s", n, h.logs.String())
	}
}

func TestStateFileHasOneOwner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.json")
	first, err := New(Config{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{StatePath: path})
	if !errors.Is(err, ErrStateLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second New = %v, want ErrStateLocked naming %s", err, path)
	}
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, err := New(Config{StatePath: path})
	if err != nil {
		t.Fatalf("New after the owner shut down: %v", err)
	}
	if err := second.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// lockHolderEnv makes the test binary, run as a child process, own the
// state file it names until it is killed (see TestMain).
const lockHolderEnv = "ALERTING_TEST_HOLD_STATE"

// holdStateLock is the child process: it owns the state file, says so and
// waits to be killed without shutting the engine down, as a crashing
// process would.
func holdStateLock(path string) {
	if _, err := New(Config{StatePath: path}); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent kills it
	os.Exit(0)
}

func TestStateFileHasOneOwnerAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.json")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child: %q, %v", line, err)
	}
	_, err = New(Config{StatePath: path})
	if !errors.Is(err, ErrStateLocked) || !strings.Contains(err.Error(), path) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("New while another process owns the file = %v, want ErrStateLocked naming %s", err, path)
	}
	// The owner dies without Shutdown: the OS releases its lock.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	eng, err := New(Config{StatePath: path})
	if err != nil {
		t.Fatalf("New after the owner died: %v", err)
	}
	if err := eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// replaceDirByFile makes every save into dir fail, for root too, by
// putting a regular file where the directory was; it returns a function
// that puts the directory back.
func replaceDirByFile(t *testing.T, dir string) (restore func()) {
	t.Helper()
	moved := dir + ".moved"
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(moved, dir); err != nil {
			t.Fatal(err)
		}
	}
}

// An acknowledgement that cannot be saved is refused and not kept: what
// the engine shows is what survives a restart.
func TestAcknowledgeNotSavedIsRolledBack(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "alerts.json")
	cfg := Config{StatePath: path}
	h := newHarness(t, cfg)
	h.addRules(DefaultRules()...)
	h.up.Record(ctx, 0, svc("plex"))
	h.eval()
	id := alertID(RuleServiceDown, labels(names.AttrService, "plex"))

	restore := replaceDirByFile(t, dir)
	_, err := h.eng.Acknowledge(id, "alice", "on it")
	if !errors.Is(err, ErrNotSaved) || !errors.Is(err, syscall.ENOTDIR) {
		t.Fatalf("Acknowledge with an unwritable state = %v, want ErrNotSaved wrapping the cause", err)
	}
	if a, _ := h.eng.Alert(id); a.Acknowledged || a.AcknowledgedBy != "" || a.AcknowledgedAt != nil {
		t.Fatalf("acknowledgement kept in memory though not saved: %+v", a)
	}
	// An evaluation's failed save is logged, and written again by the next
	// change once the directory is back, even a change that saves nothing.
	h.up.Record(ctx, 0, svc("tmdb"))
	h.eval()
	if !h.logs.Contains("cannot save alert state") {
		t.Fatalf("failed save not logged: %s", h.logs.String())
	}
	restore()
	h.step(time.Second)
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), `"service":"tmdb"`) {
		t.Fatalf("state not written again after the failure: %s, %v", b, err)
	}

	a, err := h.eng.Acknowledge(id, "bob", "")
	if err != nil || !a.Acknowledged || a.AcknowledgedBy != "bob" {
		t.Fatalf("Acknowledge = %+v, %v", a, err)
	}
	h2 := restart(t, h, cfg)
	if a, _ := h2.eng.Alert(id); !a.Acknowledged || a.AcknowledgedBy != "bob" {
		t.Fatalf("after restart: %+v", a)
	}
	if err := h2.eng.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h2.eng.Acknowledge(id, "carol", ""); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Acknowledge after Shutdown = %v, want ErrShutdown", err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Name()
	}
	return out
}

func TestRestoreGrace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "alerts.json")
	cfg := Config{StatePath: path, RestoreGrace: 5 * time.Minute}
	h := newHarness(t, cfg)
	h.addRules(DefaultRules()...)
	h.up.Record(ctx, 0, svc("plex"))
	h.failures.Record(ctx, 3, src("imdb"))
	h.eval()
	h.drain()

	h2 := restart(t, h, cfg)
	h2.addRules(DefaultRules()...)
	// After the restart nothing is recorded yet for imdb: its alert is kept
	// for the grace period. plex reports up: resolved at once.
	h2.up.Record(ctx, 1, svc("plex"))
	h2.step(time.Minute)
	if got := summary(h2.drain()); !slices.Equal(got, []string{"service_down:resolved:service=plex"}) {
		t.Fatalf("notifications %q", got)
	}
	h2.step(3 * time.Minute)
	if got := h2.firing(RuleConsecutiveSyncFailures); !slices.Equal(got, []string{"source=imdb"}) {
		t.Fatalf("within the grace period: firing on %q", got)
	}
	h2.step(2 * time.Minute) // grace (from the first evaluation) over, imdb still not reported
	if got := summary(h2.drain()); !slices.Equal(got, []string{"consecutive_sync_failures:resolved:source=imdb"}) {
		t.Fatalf("after the grace period: %q", got)
	}
}

// While an auto-resolving alert fires, its last-seen time is saved at
// most every tenth of AutoResolveAfter, not at every evaluation.
func TestAutoResolveSavesLastSeenSparingly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.json")
	h := newHarness(t, Config{StatePath: path})
	h.addRules(Rule{Name: "r", Condition: ServiceDown{}, AutoResolveAfter: 30 * time.Minute})
	savedSeen := func() time.Time {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var st stateFile
		if err := json.Unmarshal(b, &st); err != nil || len(st.Alerts) != 1 {
			t.Fatalf("state %s: %v", b, err)
		}
		return st.Alerts[0].LastSeen
	}
	h.up.Record(t.Context(), 0, svc("imdb"))
	h.eval()
	first := savedSeen()
	h.step(time.Minute)
	h.step(time.Minute)
	if got := savedSeen(); !got.Equal(first) {
		t.Fatalf("last seen saved after 2 min: %v (first %v)", got, first)
	}
	h.step(time.Minute) // 3 min: a tenth of 30
	if got := savedSeen(); !got.Equal(first.Add(3 * time.Minute)) {
		t.Fatalf("last seen not saved after 3 min: %v (first %v)", got, first)
	}
}
