package alerting

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// symlink makes a symbolic link, or skips the test where the platform
// does not let it.
func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot make symbolic links here: %v", err)
	}
}

// stateLayouts lay out a state file and a second path to it, through
// links, in a fresh directory. The first engine is given the file, or the
// link when linkFirst.
var stateLayouts = []struct {
	name      string
	linkFirst bool
	setup     func(t *testing.T, dir string) (file, link string)
}{
	{"link to an existing file", false, func(t *testing.T, dir string) (string, string) {
		file := filepath.Join(dir, "alerts.json")
		writeEmptyState(t, file)
		symlink(t, file, filepath.Join(dir, "link.json"))
		return file, filepath.Join(dir, "link.json")
	}},
	{"link to a file not saved yet", false, func(t *testing.T, dir string) (string, string) {
		file := filepath.Join(dir, "alerts.json")
		symlink(t, file, filepath.Join(dir, "link.json"))
		return file, filepath.Join(dir, "link.json")
	}},
	{"the link first", true, func(t *testing.T, dir string) (string, string) {
		file := filepath.Join(dir, "alerts.json")
		writeEmptyState(t, file)
		symlink(t, file, filepath.Join(dir, "link.json"))
		return file, filepath.Join(dir, "link.json")
	}},
	{"relative link", false, func(t *testing.T, dir string) (string, string) {
		mkdir(t, filepath.Join(dir, "state"))
		file := filepath.Join(dir, "state", "alerts.json")
		writeEmptyState(t, file)
		symlink(t, filepath.Join("state", "alerts.json"), filepath.Join(dir, "link.json"))
		return file, filepath.Join(dir, "link.json")
	}},
	{"chain of links to a file not saved yet", true, func(t *testing.T, dir string) (string, string) {
		mkdir(t, filepath.Join(dir, "state"))
		file := filepath.Join(dir, "state", "alerts.json")
		symlink(t, filepath.Join("state", "alerts.json"), filepath.Join(dir, "b.json"))
		symlink(t, "b.json", filepath.Join(dir, "a.json"))
		return file, filepath.Join(dir, "a.json")
	}},
	{"link to the directory", false, func(t *testing.T, dir string) (string, string) {
		mkdir(t, filepath.Join(dir, "state"))
		symlink(t, "state", filepath.Join(dir, "linked"))
		return filepath.Join(dir, "state", "alerts.json"), filepath.Join(dir, "linked", "alerts.json")
	}},
	{"dot dot", false, func(t *testing.T, dir string) (string, string) {
		mkdir(t, filepath.Join(dir, "state"))
		return filepath.Join(dir, "state", "alerts.json"), filepath.Join(dir, "state", "..", "state", "alerts.json")
	}},
}

func writeEmptyState(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(`{"version":1,"alerts":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

// Two paths to one state file have one owner: an engine given a link to
// another's file, or the file behind its link, is refused with
// ErrStateLocked until the owner shuts down.
func TestStateFileLinksHaveOneOwner(t *testing.T) {
	ctx := context.Background()
	for _, tc := range stateLayouts {
		t.Run(tc.name, func(t *testing.T) {
			first, second := tc.setup(t, t.TempDir())
			if tc.linkFirst {
				first, second = second, first
			}
			owner, err := New(Config{StatePath: first})
			if err != nil {
				t.Fatal(err)
			}
			_, err = New(Config{StatePath: second})
			if !errors.Is(err, ErrStateLocked) || !strings.Contains(err.Error(), second) {
				_ = owner.Shutdown(ctx)
				t.Fatalf("New on %s = %v, want ErrStateLocked naming it", second, err)
			}
			if err := owner.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			next, err := New(Config{StatePath: second})
			if err != nil {
				t.Fatalf("New after the owner shut down: %v", err)
			}
			if err := next.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A save through a link replaces the file the link leads to, and leaves
// the link a link; what it saved is read back through either path.
func TestStateSavedThroughLink(t *testing.T) {
	for _, tc := range stateLayouts {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file, link := tc.setup(t, dir)
			before, linkErr := os.Lstat(link)
			h := newHarness(t, Config{StatePath: link})
			s := h.silence(time.Hour, eq("service", "imdb"))
			if linkErr == nil {
				after, err := os.Lstat(link)
				if err != nil || after.Mode().Type() != before.Mode().Type() {
					t.Fatalf("%s was %v, is %v after a save (%v)", link, before.Mode().Type(), after.Mode().Type(), err)
				}
			}
			data, err := os.ReadFile(file)
			if err != nil || !strings.Contains(string(data), s.ID) {
				t.Fatalf("%s does not hold the silence saved through %s: %v", file, link, err)
			}
			if fi, err := os.Lstat(file); err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("%s is not a regular file: %v", file, err)
			}
			h2 := restart(t, h, Config{StatePath: file})
			if _, ok := h2.eng.Silence(s.ID); !ok {
				t.Fatal("the silence saved through the link is not read back through the file")
			}
		})
	}
}

// A loop of links is an error that names the path, not ErrStateLocked
// and not a file written in the loop's place.
func TestStateLinkLoop(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	symlink(t, "b.json", a)
	symlink(t, "a.json", b)
	_, err := New(Config{StatePath: a})
	if err == nil || errors.Is(err, ErrStateLocked) || !strings.Contains(err.Error(), a) {
		t.Fatalf("New on a loop of links = %v, want an error naming %s", err, a)
	}
	for _, p := range []string{a, b} {
		if fi, err := os.Lstat(p); err != nil || fi.Mode().Type() != fs.ModeSymlink {
			t.Fatalf("%s changed: %v", p, err)
		}
	}
}
