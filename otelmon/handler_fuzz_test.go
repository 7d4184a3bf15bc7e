package otelmon

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzHandler throws arbitrary methods, paths, keys and bodies at the
// handler. It must never panic, always answer with a known status, answer
// API errors in JSON, close the connection after a request with a body,
// and never echo the API key.
func FuzzHandler(f *testing.F) {
	for _, seed := range []struct{ method, path, key, body string }{
		{"GET", "/api/v3/monitoring/status", testKey, ""},
		{"POST", "/api/v3/monitoring/alerts/abc/acknowledge", testKey, `{"by":"me"}`},
		{"POST", "/api/v3/monitoring/health/imdb/check", testKey, ""},
		{"GET", "/api/v3/monitoring/alerts?level=critical&all=true", testKey, ""},
		{"POST", "/api/v3/monitoring/alerts/%2e%2e/acknowledge", testKey, "{"},
		{"PUT", "/metrics", "", "x"},
		{"GET", "/api/v3/monitoring/health/\x00/check", "wrong", ""},
		{"POST", "/api/v3/monitoring/alerts/abc/acknowledge", testKey, "{\"by\":\"\u202e\",\"comment\":\"\\u0000\"}"},
		{"POST", "/api/v3/monitoring/health/imdb/check?apikey=" + testKey, "", ""},
	} {
		f.Add(seed.method, seed.path, seed.key, seed.body)
	}
	m, _ := newTestMonitor(f, DefaultConfig(), WithAPIKey(testKey), WithHealthCheckURLs(map[string]string{
		"imdb": "http://127.0.0.1:1/health", "tmdb": "", "trakt": "",
	}))
	if err := m.SetupDefaultHealthCheckers(context.Background()); err != nil {
		f.Fatal(err)
	}
	h := m.Handler()
	allowed := map[int]bool{200: true, 400: true, 401: true, 404: true, 405: true, 409: true, 413: true, 415: true, 503: true}
	f.Fuzz(func(t *testing.T, method, path, key, body string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n") {
			method = "GET"
		}
		u, err := url.ParseRequestURI("/" + strings.TrimPrefix(path, "/"))
		if err != nil {
			u = &url.URL{Path: "/" + path}
		}
		req := &http.Request{Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Body: http.NoBody, Host: "example"}
		req = req.WithContext(context.Background())
		if body != "" {
			req.Body = io.NopCloser(strings.NewReader(body))
			req.ContentLength = int64(len(body)) // as the server sets it
		}
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("%s %q: status %d", method, path, rec.Code)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && rec.Code >= 400 {
			var e apiError
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" {
				t.Fatalf("%s %q: error body %q", method, path, rec.Body.String())
			}
		}
		if body != "" && rec.Header().Get("Connection") != "close" {
			t.Fatalf("%s %q with a body: no Connection: close", method, path)
		}
		if u.Path != "/" && u.Path != "/index.html" && strings.Contains(rec.Body.String(), testKey) {
			t.Fatalf("%s %q: API key echoed", method, path)
		}
	})
}

// TestHandlerUnderLoad runs 200 concurrent API and scrape clients while
// sync operations are recorded; every request must succeed.
func TestHandlerUnderLoad(t *testing.T) {
	m, srv, _, _ := apiMonitor(t)
	ctx, cancel := context.WithCancel(context.Background())
	var recWG sync.WaitGroup
	recWG.Add(1)
	go func() {
		defer recWG.Done()
		for i := 0; ctx.Err() == nil; i++ {
			m.RecordSyncOperation(ctx, []string{"imdb", "tmdb", "trakt", "plex"}[i%4], i%5 != 0, time.Second, 1, 1, 2)
			m.RecordCacheHit(ctx, "movie_cache")
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	defer client.CloseIdleConnections()
	paths := []string{"/metrics", "/api/v3/monitoring/status", "/api/v3/monitoring/health", "/api/v3/monitoring/alerts"}
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for c := 0; c < 200; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				req, _ := http.NewRequest("GET", srv.URL+paths[(c+i)%len(paths)], nil)
				req.Header.Set("X-Api-Key", testKey)
				resp, err := client.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- req.URL.Path + ": " + resp.Status
					return
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	recWG.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
