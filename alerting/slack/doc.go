// Package slack delivers alerts to a Slack channel through an incoming
// webhook.
//
// # Payload
//
// Each alert is one message with one attachment; attachments rather than
// Block Kit because they carry the coloured bar that tells levels apart at a
// glance, and every incoming webhook still renders them:
//
//	{"text":"🔴 CRITICAL - Service imdb is down","attachments":[{
//	  "fallback":"🔴 CRITICAL - Service imdb is down",
//	  "color":"#E74C3C",
//	  "title":"Service imdb is down",
//	  "text":"imdb failed 3 health checks",
//	  "fields":[{"title":"service","value":"imdb","short":true},
//	            {"title":"value","value":"0","short":true}],
//	  "ts":1740830400}]}
//
// text (also the push-notification text) is the level's emoji and name and
// the alert's title (its rule name when it has none): 🔵 INFO (#3498DB),
// 🟠 WARNING (#F39C12), 🔴 CRITICAL (#E74C3C), and ✅ RESOLVED (#2ECC71)
// for a resolved alert of any level. The fields are the alert's labels in
// name order, its value, then "traces" (its TraceIDs on a line of their
// own, when it has any); ts is the Unix time at which the alert
// started, or resolved. As Slack asks, '&', '<' and '>' in alert text are
// sent as &amp;, &lt; and &gt;, which also keeps alert text from
// mentioning <!channel> or users.
//
// [WithChannel] and [WithUsername] set "channel" and "username", which only
// legacy webhooks honour; webhooks of Slack apps post as the app, to the
// channel they were made for.
//
// # Secrets
//
// A webhook URL carries its token in the path: errors and String show only
// its scheme and host.
//
// # Configuration
//
// [New] takes the receiver's URL and sealed options: [WithChannel],
// [WithUsername], [WithName], [WithHTTPClient], [WithClock]. Each option's
// documentation states its default; a zero value (nil, "", 0) means that
// default. New reports every invalid argument or option (an empty name, a
// URL that is not absolute http or https) as a [*ConfigError] naming it
// (webhookURL, WithName, ...) and wrapping [ErrInvalidConfig], several
// joined with errors.Join; it starts nothing, and a Notifier has nothing to
// shut down. [ConfigError] and [ErrInvalidConfig] are the same in every
// notifier package.
//
// # Delivery
//
// Notify makes exactly one attempt; retries are the engine's. Slack
// answers 200 "ok"; any 2xx is success. 429 (with Retry-After) and 5xx are
// retryable; other answers are not, and carry Slack's error code, e.g.
// "unexpected HTTP status 404 Not Found (no_service)". Transport errors
// are retryable unless ctx was cancelled. A Notifier is safe for concurrent
// use.
package slack
