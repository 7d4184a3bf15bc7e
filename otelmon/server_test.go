package otelmon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/otelmon/internal/httpapi"
)

// serve runs m.Server on a free loopback port until the test ends and
// returns its address.
func serve(t *testing.T, m *Monitor) string {
	t.Helper()
	srv := m.Server("127.0.0.1:0")
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestServerLimits(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig(), WithAPIKey(testKey))
	srv := m.Server(":7878")
	if srv.Addr != ":7878" || srv.Handler == nil || srv.ErrorLog == nil ||
		srv.ReadHeaderTimeout != ServerReadHeaderTimeout || srv.ReadTimeout != ServerReadTimeout ||
		srv.IdleTimeout != ServerIdleTimeout || srv.MaxHeaderBytes != ServerMaxHeaderBytes {
		t.Fatalf("Server = %+v", srv)
	}
	// The default check timeout (30 s) plus the slack.
	if want := healthcheck.DefaultRequestTimeout + ServerCheckSlack; srv.WriteTimeout != want {
		t.Fatalf("WriteTimeout = %v, want %v", srv.WriteTimeout, want)
	}
	// A target with a longer timeout raises it.
	if err := m.AddHealthCheck(healthcheck.Target{Name: "slow", URL: "http://127.0.0.1:1/", Timeout: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if got, want := m.Server("").WriteTimeout, 2*time.Minute+ServerCheckSlack; got != want {
		t.Fatalf("WriteTimeout = %v, want %v", got, want)
	}
	if got := (apiBackend{m}).CheckTimeout("slow"); got != 2*time.Minute {
		t.Fatalf("CheckTimeout(slow) = %v", got)
	}
	// Short check timeouts leave the floor.
	cfg := DefaultConfig()
	cfg.HealthChecks.RequestTimeout = time.Second
	m2, _ := newTestMonitor(t, cfg, WithAPIKey(testKey))
	if got := m2.Server("").WriteTimeout; got != ServerWriteTimeout {
		t.Fatalf("WriteTimeout = %v, want %v", got, ServerWriteTimeout)
	}
}

// rawRequest writes head and body on a new connection to addr and leaves
// the rest of the body it announces unsent; it returns the connection and
// a reader on it.
func rawRequest(t *testing.T, addr, head, body string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := io.WriteString(c, head+body); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

// closedByPeer reports whether err says the other end closed the
// connection, rather than that a deadline passed.
func closedByPeer(err error) bool {
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// A request that is refused before its body is read (or whose body is too
// large) is answered at once and its connection closed, however slowly the
// body arrives: the server neither waits for the body before answering nor
// drains it afterwards. Each client here announces a 100 KB body and sends
// one byte of it.
func TestServerClosesRefusedBodies(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig(), WithAPIKey(testKey), WithHealthCheckURLs(map[string]string{
		"imdb": "http://127.0.0.1:1/health", "tmdb": "", "trakt": "",
	}))
	if err := m.SetupDefaultHealthCheckers(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, m)
	const ack = "/api/v3/monitoring/alerts/abc/acknowledge"
	for _, tc := range []struct {
		name, method, path, headers, body string
		want                              int
	}{
		{"no key", "POST", ack, "Content-Type: application/json\r\n", "{", 401},
		{"key in the query of a POST", "POST", ack + "?apikey=" + testKey, "", "{", 401},
		{"no key on a GET with a body", "GET", "/api/v3/monitoring/status", "", "x", 401},
		{"not JSON", "POST", ack, "X-Api-Key: " + testKey + "\r\nContent-Type: text/plain\r\n", "x", 415},
		{"bad path", "POST", "/api/v3/monitoring/health/%2E%2E/check", "X-Api-Key: " + testKey + "\r\n", "x", 400},
		{"unknown path", "POST", "/nope", "", "x", 404},
		{"status page", "GET", "/", "", "x", 200},
		{"too large", "POST", ack, "X-Api-Key: " + testKey + "\r\n", "{}" + strings.Repeat(" ", httpapi.MaxBodyBytes), 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: test\r\n%sContent-Length: 100000\r\n\r\n", tc.method, tc.path, tc.headers)
			c, br := rawRequest(t, addr, head, tc.body)
			// The server's ReadTimeout is 15 s: only a server that closes
			// refused connections answers and hangs up within these 5 s.
			if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want || !resp.Close {
				t.Fatalf("%s, Connection: close %v; want %d, close", resp.Status, resp.Close, tc.want)
			}
			if _, err := br.ReadByte(); !closedByPeer(err) {
				t.Fatalf("connection not closed by the server: %v", err)
			}
		})
	}
	// A request without a body keeps its connection.
	c, br := rawRequest(t, addr, "GET /api/v3/monitoring/status HTTP/1.1\r\nHost: test\r\nX-Api-Key: "+testKey+"\r\n\r\n", "")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("keep-alive GET: %v %+v", err, resp)
	}
}

// attackStats counts what slow-body attackers saw.
type attackStats struct {
	conns   atomic.Int64 // connections opened
	prompt  atomic.Int64 // closed by the server within 2 s of the request
	started sync.WaitGroup
}

// slowBodyAttacker opens a connection, sends a keyless acknowledgement
// announcing a 100 KB body, and sends one body byte every 2 s for as long
// as the server keeps the connection open; when the server closes it, it
// opens the next one on its next 2 s tick, until ctx is done.
func slowBodyAttacker(ctx context.Context, addr string, st *attackStats) {
	const head = "POST /api/v3/monitoring/alerts/abc/acknowledge HTTP/1.1\r\nHost: test\r\n" +
		"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	first := true
	buf := make([]byte, 4096)
	for ctx.Err() == nil {
		c, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr)
		if first {
			st.started.Done()
			first = false
		}
		if err == nil {
			st.conns.Add(1)
			sent := time.Now()
			_, err = io.WriteString(c, head)
			for err == nil && ctx.Err() == nil {
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, err = c.Read(buf); err == nil {
					continue // the 401; the close comes next
				}
				if closedByPeer(err) {
					if time.Since(sent) < 2*time.Second {
						st.prompt.Add(1)
					}
					break
				}
				_, err = c.Write([]byte(" ")) // still open: the next byte
			}
			_ = c.Close()
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// TestServerSlowBodyAttack runs 300 keyless clients that trickle a body
// one byte every 2 s against a server from Server, while a client with the
// key keeps calling the API: at least 90% of its calls must be answered
// within 2 s, and the server must close at least 95% of the attackers'
// connections within 2 s. (With an open-file limit of 256, a server that
// held them would refuse everyone.)
func TestServerSlowBodyAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 8 s")
	}
	m, _ := newTestMonitor(t, DefaultConfig(), WithAPIKey(testKey))
	addr := serve(t, m)

	const attackers = 300
	ctx, cancel := context.WithCancel(context.Background())
	var st attackStats
	var wg sync.WaitGroup
	st.started.Add(attackers)
	for range attackers {
		wg.Go(func() { slowBodyAttacker(ctx, addr, &st) })
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	st.started.Wait() // every attacker has dialed once

	// A new connection for every call: accepting it is what an attack that
	// held connections would starve.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var latencies []time.Duration
	failed := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); <-tick.C {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v3/monitoring/status", nil)
		req.Header.Set("X-Api-Key", testKey)
		start := time.Now()
		resp, err := client.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = errors.New(resp.Status)
			}
		}
		if d := time.Since(start); err == nil && d <= 2*time.Second {
			latencies = append(latencies, d)
		} else {
			failed++
		}
	}
	cancel()
	wg.Wait()

	total := len(latencies) + failed
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(p*float64(len(latencies)-1))]
	}
	conns, prompt := st.conns.Load(), st.prompt.Load()
	t.Logf("keyed client: %d/%d answered within 2 s (p50 %v, p99 %v); attackers: %d connections, %d closed by the server within 2 s",
		len(latencies), total, pct(0.5), pct(0.99), conns, prompt)
	if total < 50 || float64(len(latencies)) < 0.9*float64(total) {
		t.Errorf("keyed client: %d of %d calls answered within 2 s, want at least 90%%", len(latencies), total)
	}
	if conns < attackers || float64(prompt) < 0.95*float64(conns) {
		t.Errorf("attackers: %d of %d connections closed by the server within 2 s, want at least 95%%", prompt, conns)
	}
}
