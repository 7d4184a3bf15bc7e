package otelmon

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/listsync/otelmon/otelmon/internal/httpapi"
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
	ServerCheckSlack = httpapi.CheckSlack
	// ServerIdleTimeout bounds how long an idle keep-alive connection is
	// kept open.
	ServerIdleTimeout = 60 * time.Second
	// ServerMaxHeaderBytes bounds the size of a request's headers; larger
	// ones get 431.
	ServerMaxHeaderBytes = 32 << 10
)

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
		WriteTimeout:      max(ServerWriteTimeout, m.health.longestTimeout()+ServerCheckSlack),
		IdleTimeout:       ServerIdleTimeout,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn),
	}
}
