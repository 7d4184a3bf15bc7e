package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/syncbuf"
)

// requireProgram returns the path of a program that the test drives; it
// skips the test when the program is missing, unless on CI, where .ci/run
// installs it (Debian package pkg; "go" is the toolchain itself).
func requireProgram(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found; .ci/run installs the %s package", name, pkg)
		}
		t.Skipf("%s not found (%s); skipping", name, pkg)
	}
	return path
}

// freeAddr returns a loopback address with a port that was free a moment
// ago, for a program that must be told its address before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a program started by the test and stopped when the test ends.
type process struct {
	name   string
	base   string // http://host:port when it serves HTTP
	client *http.Client
	out    *syncbuf.Buffer // its stdout and stderr
	exited chan struct{}   // closed when the process has exited
	err    error           // Wait's result, set before exited is closed
}

// start runs bin with args and env (added to the test's environment). At
// the end of the test it sends SIGTERM, kills the program if it has not
// stopped after 10 s, and logs its output if the test failed. listen is the
// address it serves HTTP on, or "".
func start(t *testing.T, name, listen string, env []string, bin string, args ...string) *process {
	t.Helper()
	p := &process{
		name:   name,
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}},
		out:    &syncbuf.Buffer{},
		exited: make(chan struct{}),
	}
	if listen != "" {
		p.base = "http://" + listen
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = p.out
	cmd.Stderr = p.out
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
			t.Logf("%s output:\n%s", name, p.out)
		}
	})
	return p
}

// poll calls f every 200 ms until it returns nil or timeout passes, then
// fails the test with f's last error. It stops early when the program
// exits.
func (p *process) poll(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
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
			t.Fatalf("%s: %s exited (%v); last error: %v", what, p.name, p.err, err)
		case <-tick.C:
		}
	}
}

// get fetches path from the program's HTTP server.
func (p *process) get(path string) (int, []byte, error) {
	resp, err := p.client.Get(p.base + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// waitReady waits until path answers 200 (/-/ready for Prometheus and
// Alertmanager once they serve).
func (p *process) waitReady(t *testing.T, path string) {
	t.Helper()
	p.poll(t, 60*time.Second, p.name+" ready", func() error {
		code, body, err := p.get(path)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("%s: %d %s", path, code, bytes.TrimSpace(body))
		}
		return nil
	})
}

// series is one element of an instant vector of Prometheus' query API.
type series struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query runs an instant query against a Prometheus process and returns its
// vector.
func (p *process) query(expr string) ([]series, error) {
	code, body, err := p.get("/api/v1/query?query=" + urlEscape(expr))
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []series `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %s: %d: %w: %s", expr, code, err, body)
	}
	if code != http.StatusOK || r.Status != "success" {
		return nil, fmt.Errorf("query %s: %d %s: %s", expr, code, r.Status, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %q, want vector", expr, r.Data.ResultType)
	}
	return r.Data.Result, nil
}
