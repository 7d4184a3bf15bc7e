// Package webhook delivers alerts to any HTTP endpoint as a versioned JSON
// document: the generic integration, for receivers that otelmon has no
// dedicated package for.
//
// # Payload
//
// Each Notify call POSTs one [Message] with Content-Type application/json
// and User-Agent otelmon:
//
//	{"version":"1","status":"firing","alert":{"id":"...","rule":"service-down",
//	  "level":"critical","state":"firing","title":"Service imdb is down", ...}}
//
// status is "firing" or "resolved"; alert is the alerting.Alert as it
// encodes to JSON, except that its value is null when the reading is NaN or
// infinite, which JSON cannot carry. An alert raised by sync metrics
// carries "traceIds", the traces of the syncs behind it. Fields are only ever added within a
// version; a change a receiver could trip over gets a new version.
//
// # Authentication
//
// [WithHeader] adds static headers, e.g. Authorization. [WithSigningSecret]
// signs each body with HMAC-SHA256 and sends the signature as
//
//	X-Otelmon-Signature: sha256=<hex of HMAC-SHA256(secret, body)>
//
// which a receiver checks with [Verify] (or any HMAC implementation) over
// the raw body before decoding it.
//
// # Secrets
//
// The URL (whose path or query often carries a token), header values and the
// signing secret never appear in errors, in String or in logs: errors show
// the URL's scheme and host only.
//
// # Configuration
//
// [New] takes the receiver's URL and sealed options: [WithHeader],
// [WithSigningSecret], [WithName], [WithHTTPClient], [WithClock]. Each
// option's documentation states its default; a zero value (nil, "", 0) means
// that default. New reports every invalid argument or option (an empty name,
// a URL that is not absolute http or https) as a [*ConfigError] naming it
// (rawURL, WithName, ...) and wrapping [ErrInvalidConfig], several joined
// with errors.Join; it starts nothing, and a Notifier has nothing to shut
// down. [ConfigError] and [ErrInvalidConfig] are the same in every notifier
// package.
//
// # Delivery
//
// Notify makes exactly one attempt; retries are the engine's. A non-2xx
// answer is returned as an *alerting.StatusError (429 and 5xx retryable,
// with Retry-After), a payload that cannot be encoded wraps
// alerting.ErrPermanent, and transport errors are retryable unless ctx was
// cancelled. A Notifier is safe for concurrent use.
package webhook
