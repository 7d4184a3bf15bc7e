package e2etest

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// ChromiumPath is Debian's Chromium, which the browser scripts drive.
const ChromiumPath = "/usr/bin/chromium"

// browserDir is the Node project (playwright-core, which downloads no
// browser) whose scripts drive the status page; .ci/run installs its
// node_modules with npm ci. It sits beside this file.
func browserDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "browser")
}

// RunBrowserScript runs script, a file of the browser project, with node
// and env added to the environment; the script drives Debian's Chromium
// (STATUS_PAGE_CHROMIUM) and may save a screenshot where
// STATUS_PAGE_SCREENSHOT says when it fails, a file this function keeps
// (and names in the log) if the test fails. It returns what the script
// printed on stdout (its summary); a script that fails, or runs longer than
// timeout, fails the test with its output. Without Chromium, node or the
// project's node_modules the test is skipped, except on CI, where it fails
// (see Unavailable).
func RunBrowserScript(t testing.TB, script string, timeout time.Duration, env ...string) []byte {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		Unavailable(t, ChromiumPath+" not found (Debian package chromium)")
	}
	node := RequireProgram(t, "node", "Debian package nodejs")
	dir := browserDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); errors.Is(err, fs.ErrNotExist) {
		Unavailable(t, dir+"/node_modules not installed (npm ci --prefix internal/e2etest/browser)")
	} else if err != nil {
		t.Fatal(err)
	}

	shots, err := os.MkdirTemp("", "otelmon-browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screenshots of the page, if any, kept in %s", shots)
			return
		}
		_ = os.RemoveAll(shots)
	})

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"STATUS_PAGE_CHROMIUM="+ChromiumPath,
		"STATUS_PAGE_SCREENSHOT="+filepath.Join(shots, "status-page.png"),
		"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1",
	)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// SIGTERM lets Playwright close Chromium; SIGKILL follows if it hangs.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s failed after %v: %v\nstderr:\n%s\nstdout:\n%s", script, time.Since(start).Round(time.Millisecond),
			err, stderr.Bytes(), stdout.Bytes())
	}
	t.Logf("%s passed in %v", script, time.Since(start).Round(time.Millisecond))
	return bytes.TrimSpace(stdout.Bytes())
}
