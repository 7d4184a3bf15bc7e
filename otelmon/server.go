package otelmon

import (
	"log/slog"
	"net/http"
	"time"
)

// Limits of the http.Server that Server returns.
const (
	// ServerReadHeaderTimeout bounds reading a request's headers.
	ServerReadHeaderTimeout = 5 * time.Second
	// ServerReadTimeout bounds reading a whole request, body included (the
	// API takes bodies of at most 64 KiB).
	ServerReadTimeout = 15 * time.Second
	// ServerWriteTimeout is the least time a request has, from the end of
	// its headers, to be answered; Server raises it to the longest health
	// check timeout plus ServerCheckSlack.
	ServerWriteTimeout = 30 * time.Second
	// ServerCheckSlack is what a forced health check
	// (POST /api/v3/monitoring/health/{service}/check) gets on top of its
	// check timeout to wait for a free check slot and write its answer.
	ServerCheckSlack = 10 * time.Second
	// ServerIdleTimeout bounds how long an idle keep-alive connection is
	// kept open.
	ServerIdleTimeout = 60 * time.Second
	// ServerMaxHeaderBytes bounds the size of a request's headers; larger
	// ones get 431.
	ServerMaxHeaderBytes = 32 << 10
)

// checkQueueWait is the part of ServerCheckSlack that a forced check may
// spend waiting for a free check slot; the rest is left for the answer.
const checkQueueWait = ServerCheckSlack / 2

// Server returns an http.Server for addr that serves the Monitor's Handler
// with bounds on every stage of a connection, so that slow or idle clients
// cannot hold connections open:
//
//   - ReadHeaderTimeout ServerReadHeaderTimeout (5 s),
//   - ReadTimeout ServerReadTimeout (15 s),
//   - WriteTimeout the larger of ServerWriteTimeout (30 s) and the longest
//     health check timeout registered when Server is called
//     (Config.HealthChecks.RequestTimeout or a target's own Timeout) plus
//     ServerCheckSlack (10 s),
//   - IdleTimeout ServerIdleTimeout (60 s),
//   - MaxHeaderBytes ServerMaxHeaderBytes (32 KiB).
//
// A forced health check extends its own connection's deadlines to its
// check timeout plus ServerCheckSlack, so a target added after Server is
// called is covered too. The server's own errors (such as accept failures)
// go to the Monitor's logger at Warn level. Run it with ListenAndServe, or
// Serve on a listener of your own; stop it with Shutdown before the
// Monitor's Shutdown. Server starts nothing and may be called more than
// once; each call returns a new http.Server.
func (m *Monitor) Server(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           m.Handler(),
		ReadHeaderTimeout: ServerReadHeaderTimeout,
		ReadTimeout:       ServerReadTimeout,
		WriteTimeout:      max(ServerWriteTimeout, m.longestCheckTimeout()+ServerCheckSlack),
		IdleTimeout:       ServerIdleTimeout,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn),
	}
}

// longestCheckTimeout returns the longest timeout of the registered health
// checks, or the configured default when none is registered.
func (m *Monitor) longestCheckTimeout() time.Duration {
	d := m.cfg.HealthChecks.RequestTimeout
	for _, t := range m.health.Targets() {
		d = max(d, t.Timeout)
	}
	return d
}

// checkTimeout returns the timeout of the health check of service: its
// own, or the configured default.
func (m *Monitor) checkTimeout(service string) time.Duration {
	for _, t := range m.health.Targets() {
		if t.Name == service && t.Timeout > 0 {
			return t.Timeout
		}
	}
	return m.cfg.HealthChecks.RequestTimeout
}

// extendDeadlines moves the read and write deadlines of r's connection to d
// from now, for a handler that may legitimately run longer than the
// server's ReadTimeout or WriteTimeout allow: a read deadline that passes
// while the handler runs cancels the request's context. Connections that
// do not support deadlines (a ResponseRecorder) are left alone.
func extendDeadlines(w http.ResponseWriter, d time.Duration) {
	rc := http.NewResponseController(w)
	at := time.Now().Add(d)
	_ = rc.SetReadDeadline(at)
	_ = rc.SetWriteDeadline(at)
}

// closeAfterBody answers every HTTP/1 request that carries a body with
// "Connection: close" and, once the handler has returned, stops reading
// whatever of the body it left unread. Without it, net/http reads up to
// 256 KiB of an unread body before answering a keep-alive request (and
// after answering one marked close), with no bound but the server's
// ReadTimeout: a client trickling a body that was refused (401, 413, 415,
// 400, 404) would hold its connection and the server's file descriptor for
// as long as it liked. The API's only bodies are acknowledgements, rare
// enough that keep-alive saves nothing for them. HTTP/2 needs none of
// this: a handler that returns resets its stream, and "Connection: close"
// there would end every other stream of the connection.
func closeAfterBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 || !hasBody(r) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Connection", "close")
		defer func() { _ = http.NewResponseController(w).SetReadDeadline(time.Now()) }()
		next.ServeHTTP(w, r)
	})
}

// hasBody reports whether r carries a body (of known or unknown length).
func hasBody(r *http.Request) bool {
	return r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}
