// Package e2etest holds what the end-to-end tests of the examples share:
// finding the real programs they drive (skipping outside CI when one is
// missing, failing on CI), starting those programs on loopback and
// stopping them when the test ends, polling them with deadlines, and
// talking to Prometheus, Alertmanager and Grafana dashboards the way the
// tests check them.
//
// It is imported by _test.go files only.
package e2etest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Unavailable ends a test that cannot run because what it needs (what
// says which and where it comes from) is not installed: it fails the test
// when the environment variable CI is set, since .ci/run installs
// everything the tests drive, and skips it otherwise.
func Unavailable(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; .ci/run installs it", what)
	}
	t.Skipf("%s; skipping", what)
}

// RequireProgram returns the path of the program name, looked up in PATH,
// that a test drives. When it is missing it calls [Unavailable]; from says
// where the program comes from, as "Debian package prometheus".
func RequireProgram(t testing.TB, name, from string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, fmt.Sprintf("%s not found (%s)", name, from))
	}
	return path
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for a program that must be told its address before it starts.
//
// The port is taken below the kernel's ephemeral range, never from it: a
// port the kernel hands out for ":0" is also what it hands to outgoing
// connections, and the many connections of tests running in parallel
// (scrapes, pushes, API calls) would take it between this call and the
// program's bind. Ports handed out in this process are not handed out
// twice.
func FreeAddr(t testing.TB) string {
	t.Helper()
	lo, hi := 10000, ephemeralLow()
	freeMu.Lock()
	defer freeMu.Unlock()
	for range 1000 {
		port := lo + rand.IntN(hi-lo)
		if handedOut[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		handedOut[port] = true
		return addr
	}
	t.Fatalf("no free loopback port in %d-%d", lo, hi)
	return ""
}

var (
	freeMu    sync.Mutex
	handedOut = map[int]bool{}
)

// ephemeralLow is the first port of the kernel's ephemeral range (Linux:
// /proc/sys/net/ipv4/ip_local_port_range; 32768 where it cannot be read,
// the Linux default), kept at least 20000 so that the range below it is
// wide.
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	return max(low, 20000)
}

// Check runs a checking tool (promtool check config, amtool check-config,
// a collector's validate) and fails the test with its output if it fails.
func Check(t testing.TB, bin string, args ...string) {
	t.Helper()
	if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, b)
	}
}

// CopyFile copies the file src to dst, which only the user may read and
// write.
func CopyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
