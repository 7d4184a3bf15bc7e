package main

import (
	"bytes"
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

// requireProgram returns the path of a program from a Debian package that
// an end-to-end test drives; it skips the test when the program is missing,
// unless on CI, where .ci/run installs it.
func requireProgram(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found; .ci/run installs the %s package", name, pkg)
		}
		t.Skipf("%s not found (Debian package %s); skipping", name, pkg)
	}
	return path
}

// server is a program serving HTTP on a free loopback port, started by a
// test and stopped when the test ends.
type server struct {
	name   string
	base   string // http://host:port
	client *http.Client
	out    *syncbuf.Buffer // its output
	exited chan struct{}   // closed when the process has exited
	err    error           // Wait's result, set before exited is closed
}

// startServer runs bin with the arguments args returns for its listen
// address (host:port on loopback). At the end of the test it sends SIGTERM,
// kills the program if it has not stopped after 10 s, and logs its output
// if the test failed.
func startServer(t *testing.T, name, bin string, args func(listen string) []string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()

	s := &server{
		name:   name,
		base:   "http://" + listen,
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}},
		out:    &syncbuf.Buffer{},
		exited: make(chan struct{}),
	}
	cmd := exec.Command(bin, args(listen)...)
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.client.CloseIdleConnections()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop on SIGTERM; killing it", name)
			_ = cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, s.out)
		}
	})
	return s
}

// poll calls f every 100 ms until it returns nil or timeout passes, then
// fails the test with f's last error. It stops early when the program
// exits.
func (s *server) poll(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
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
		case <-s.exited:
			t.Fatalf("%s: %s exited (%v); last error: %v", what, s.name, s.err, err)
		case <-tick.C:
		}
	}
}

// get fetches path from the program's HTTP server.
func (s *server) get(path string) (int, []byte, error) {
	resp, err := s.client.Get(s.base + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// waitReady waits until /-/ready answers 200, as Prometheus and
// Alertmanager do once they serve.
func (s *server) waitReady(t *testing.T) {
	t.Helper()
	s.poll(t, 30*time.Second, s.name+" ready", func() error {
		code, body, err := s.get("/-/ready")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("/-/ready: %d %s", code, bytes.TrimSpace(body))
		}
		return nil
	})
}
