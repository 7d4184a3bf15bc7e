package e2etest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/syncbuf"
)

// DefaultPollEvery is how often [Process.Poll] calls its check unless the
// process's PollEvery says otherwise.
const DefaultPollEvery = 100 * time.Millisecond

// Process is a program started by a test with [Start] and stopped when the
// test ends.
type Process struct {
	// Name names the program in messages.
	Name string
	// Base is http://host:port when the program serves HTTP, else "".
	Base string
	// Out is what the program wrote to its stdout and stderr so far.
	Out *syncbuf.Buffer
	// PollEvery is how often Poll calls its check; Start sets it to
	// DefaultPollEvery.
	PollEvery time.Duration

	client *http.Client
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, set before exited is closed
}

// Start runs bin with args, its environment the test's with env added. At
// the end of the test it sends the program SIGTERM, kills it if it has not
// stopped after 10 s (failing the test), and logs its output if the test
// failed. listen is the address it serves HTTP on (see [FreeAddr]), or ""
// when it serves none.
func Start(t testing.TB, name, listen string, env []string, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{
		Name:      name,
		Out:       &syncbuf.Buffer{},
		PollEvery: DefaultPollEvery,
		client:    &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}},
		exited:    make(chan struct{}),
	}
	if listen != "" {
		p.Base = "http://" + listen
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = p.Out
	cmd.Stderr = p.Out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.client.CloseIdleConnections()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop on SIGTERM; killing it", name)
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Out)
		}
	})
	return p
}

// Poll calls f every PollEvery until it returns nil or timeout passes,
// then fails the test with f's last error. It fails the test early when
// the program exits.
func (p *Process) Poll(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(p.PollEvery)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %v", what, timeout, err)
		}
		select {
		case <-p.exited:
			t.Fatalf("%s: %s exited (%v); last error: %v", what, p.Name, p.err, err)
		case <-tick.C:
		}
	}
}

// Get fetches path from the program's HTTP server and returns the status
// code and body of the response.
func (p *Process) Get(path string) (int, []byte, error) {
	resp, err := p.client.Get(p.Base + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// WaitReady waits up to timeout until path answers 200: /-/ready for
// Prometheus and Alertmanager once they serve.
func (p *Process) WaitReady(t testing.TB, path string, timeout time.Duration) {
	t.Helper()
	p.Poll(t, timeout, p.Name+" ready", func() error {
		code, body, err := p.Get(path)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("%s: %d %s", path, code, bytes.TrimSpace(body))
		}
		return nil
	})
}
