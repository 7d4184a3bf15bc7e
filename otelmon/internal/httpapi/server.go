package httpapi

import (
	"net/http"
	"time"
)

// CheckSlack is what a forced health check
// (POST /api/v3/monitoring/health/{service}/check) gets on top of its
// check timeout to wait for a free check slot and write its answer.
const CheckSlack = 10 * time.Second

// checkQueueWait is the part of CheckSlack that a forced check may spend
// waiting for a free check slot; the rest is left for the answer.
const checkQueueWait = CheckSlack / 2

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
