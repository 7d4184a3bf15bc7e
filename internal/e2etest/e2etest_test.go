package e2etest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// serveEnv, set to a loopback address, makes the test binary serve
// /ready there and print "serving" instead of running the tests: the
// program TestStart drives.
const serveEnv = "E2ETEST_SERVE"

func TestMain(m *testing.M) {
	if addr := os.Getenv(serveEnv); addr != "" {
		fmt.Println("serving")
		http.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
		fmt.Fprintln(os.Stderr, http.ListenAndServe(addr, nil))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestStart(t *testing.T) {
	bin := RequireProgram(t, os.Args[0], "the test binary")
	listen := FreeAddr(t)
	p := Start(t, "server", listen, []string{serveEnv + "=" + listen}, bin)
	if p.Base != "http://"+listen || p.PollEvery != DefaultPollEvery {
		t.Fatalf("Base %q, PollEvery %v", p.Base, p.PollEvery)
	}
	p.WaitReady(t, "/ready", 30*time.Second)
	code, body, err := p.Get("/ready")
	if err != nil || code != http.StatusOK || string(body) != "ok" {
		t.Fatalf("GET /ready: %d %q %v", code, body, err)
	}
	p.Poll(t, 30*time.Second, "output", func() error {
		if !p.Out.Contains("serving") {
			return fmt.Errorf("output %q", p.Out)
		}
		return nil
	})
}

func TestCheckAndCopyFile(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := os.WriteFile(src, []byte("content"), 0o644); err != nil {
		t.Fatal(err)
	}
	CopyFile(t, src, dst)
	if b, err := os.ReadFile(dst); err != nil || string(b) != "content" {
		t.Fatalf("copy: %q, %v", b, err)
	}
	Check(t, RequireProgram(t, "cmp", "Debian package diffutils"), src, dst)
}

func TestSeriesFinite(t *testing.T) {
	for v, want := range map[any]bool{"1.5": true, "0": true, "NaN": false, "+Inf": false, "-Inf": false, "x": false, nil: false} {
		if got := (Series{Value: [2]any{1.0, v}}).Finite(); got != want {
			t.Errorf("Finite of %v = %v, want %v", v, got, want)
		}
	}
}

func TestReadDashboard(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dashboard.json")
	const dashboard = `{"uid": "u", "title": "T", "panels": [
		{"title": "one", "targets": [{"refId": "A", "expr": "rate(x[$__rate_interval])"}]},
		{"title": "row", "panels": [
			{"title": "two", "targets": [{"refId": "A", "expr": "a[${__range}]"}, {"refId": "B", "expr": "b"}, {"refId": "C", "expr": " "}]}
		]}
	]}`
	if err := os.WriteFile(path, []byte(dashboard), 0o600); err != nil {
		t.Fatal(err)
	}
	d := ReadDashboard(t, path)
	want := []Query{{"one", "rate(x[5m])"}, {"two A", "a[5m]"}, {"two B", "b"}}
	if d.UID != "u" || d.Title != "T" || !slices.Equal(d.Queries, want) || !slices.Equal(d.Blank, []string{`panel "two" target C`}) {
		t.Errorf("got %+v, want queries %v and one blank target", d, want)
	}
}

func TestWebhookReceiver(t *testing.T) {
	r := StartWebhookReceiver(t)
	for _, body := range []string{
		`{"groupKey": "g1", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "a"}}]}`,
		`{"groupKey": "g2", "status": "firing"}`,
		`{"groupKey": "g1", "status": "resolved"}`,
		`not json`,
	} {
		resp, err := http.Post(r.URL, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusOK
		if body == "not json" {
			want = http.StatusBadRequest
		}
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", body, resp.StatusCode, want)
		}
	}
	if got := r.Received(); len(got) != 3 || got[0].Alerts[0].Labels["alertname"] != "a" {
		t.Fatalf("received %+v", got)
	}
	g := r.ByGroup()
	if len(g) != 2 || len(g["g1"]) != 2 || g["g1"][1].Status != "resolved" || len(g["g2"]) != 1 {
		t.Errorf("by group %+v", g)
	}
}

// FreeAddr hands out bindable loopback ports below the ephemeral range,
// never the same one twice.
func TestFreeAddr(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		addr := FreeAddr(t)
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("FreeAddr = %q: %v", addr, err)
		}
		if p, _ := strconv.Atoi(port); p < 10000 || p >= ephemeralLow() {
			t.Fatalf("port %d outside [10000, %d)", p, ephemeralLow())
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("FreeAddr = %s, not bindable: %v", addr, err)
		}
		ln.Close()
	}
}

// QueryRangeVector decodes a matrix answer to times and values, and
// refuses an answer of another type.
func TestQueryRangeVector(t *testing.T) {
	answer := `{"status": "success", "data": {"resultType": "matrix", "result": [
		{"metric": {"alertname": "a"}, "values": [[1700000000.5, "1"], [1700000001.5, "2.5"]]}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("query") == "vector" {
			fmt.Fprint(w, `{"status": "success", "data": {"resultType": "vector", "result": []}}`)
			return
		}
		if r.URL.Query().Get("time") != "1700000002.000" {
			http.Error(w, `{"status": "error", "error": "bad time"}`, http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, answer)
	}))
	defer srv.Close()
	p := &Process{Name: "prometheus", Base: srv.URL, client: srv.Client()}
	got, err := p.QueryRangeVector("ALERTS[5s]", time.Unix(1700000002, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []Point{{time.UnixMilli(1700000000500), 1}, {time.UnixMilli(1700000001500), 2.5}}
	if len(got) != 1 || got[0].Metric["alertname"] != "a" || !slices.EqualFunc(got[0].Points, want, func(a, b Point) bool { return a.T.Equal(b.T) && a.V == b.V }) {
		t.Fatalf("got %+v, want one series a with %v", got, want)
	}
	if _, err := p.QueryRangeVector("vector", time.Unix(1700000002, 0)); err == nil {
		t.Fatal("a vector answer was taken for a matrix")
	}
}
