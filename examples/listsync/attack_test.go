package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/e2etest"
)

// asDemoEnv, set to an open-file limit, makes the test binary run the demo
// under that limit instead of the tests (see TestMain).
const asDemoEnv = "LISTSYNC_TEST_AS_DEMO_NOFILE"

// runAsDemo lowers the open-file limit to $LISTSYNC_TEST_AS_DEMO_NOFILE,
// says so on stdout, and runs the demo with the test binary's arguments.
func runAsDemo() {
	var n uint64
	if _, err := fmt.Sscan(os.Getenv(asDemoEnv), &n); err != nil {
		fmt.Fprintln(os.Stderr, "bad", asDemoEnv, err)
		os.Exit(2)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(2)
	}
	fmt.Printf("open-file limit %d\n", n)
	main()
}

// TestDemoSurvivesSlowBodies is the slow-body attack that used to take the
// demo down, against the demo in its own process with an open-file limit
// of 256: 300 keyless clients each announce a 100 KB acknowledgement body
// and send a byte of it every 2 s (reconnecting when the demo hangs up),
// while a client with the key calls the API every 20 ms for 5 s, each
// time on a new connection. At least
// 90% of its calls must be answered within 2 s. A demo that kept the
// refused connections open ran out of file descriptors and answered none.
func TestDemoSurvivesSlowBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 8 s")
	}
	const key = "slow-body-test-key"
	t.Setenv(asDemoEnv, "256")
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	listen := e2etest.FreeAddr(t)
	demo := e2etest.Start(t, "listsync", listen, nil, os.Args[0], "-listen", listen, "-api-key", key, "-state", "")
	// A new connection for every call, as a person's curl or browser tab
	// would open: the descriptor it needs is what the attack exhausts.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	status := func() error {
		req, _ := http.NewRequest("GET", demo.Base+"/api/v3/monitoring/status", nil)
		req.Header.Set("X-Api-Key", key)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = errors.New(resp.Status)
		}
		return err
	}
	demo.Poll(t, 30*time.Second, "demo serving", status)
	if !demo.Out.Contains("open-file limit 256") {
		t.Fatalf("the demo did not run under the limit:\n%s", demo.Out)
	}

	const attackers = 300
	ctx, cancel := context.WithCancel(context.Background())
	var conns atomic.Int64
	var started, wg sync.WaitGroup
	started.Add(attackers)
	for range attackers {
		wg.Go(func() { trickle(ctx, listen, &started, &conns) })
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	started.Wait()

	answered, calls := 0, 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); <-tick.C {
		calls++
		if status() == nil { // within the client's 2 s timeout
			answered++
		}
	}
	cancel()
	wg.Wait()
	t.Logf("keyed client: %d of %d calls answered within 2 s; attackers opened %d connections", answered, calls, conns.Load())
	if calls < 50 || float64(answered) < 0.9*float64(calls) {
		t.Errorf("%d of %d calls answered within 2 s, want at least 90%%", answered, calls)
	}
}

// trickle is one slow-body attacker: it sends a keyless acknowledgement
// announcing a 100 KB body and then a byte of it every 2 s, reading what
// the server sends; when the server hangs up, it reconnects on its next
// 2 s tick. It marks started once it has dialed.
func trickle(ctx context.Context, addr string, started *sync.WaitGroup, conns *atomic.Int64) {
	const head = "POST /api/v3/monitoring/alerts/abc/acknowledge HTTP/1.1\r\nHost: demo\r\n" +
		"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	buf := make([]byte, 4096)
	for first := true; ctx.Err() == nil; first = false {
		c, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr)
		if first {
			started.Done()
		}
		if err == nil {
			conns.Add(1)
			_, err = io.WriteString(c, head)
			for err == nil && ctx.Err() == nil {
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, err = c.Read(buf); err == nil {
					continue
				}
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					_, err = c.Write([]byte(" ")) // still open: the next byte
				}
			}
			_ = c.Close()
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}
