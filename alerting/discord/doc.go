// Package discord delivers alerts to a Discord channel through a webhook
// ("Execute Webhook").
//
// # Payload
//
// Each alert is one embed:
//
//	{"username":"otelmon","allowed_mentions":{"parse":[]},"embeds":[{
//	  "title":"🔴 CRITICAL - Service imdb is down",
//	  "description":"imdb failed 3 health checks",
//	  "color":15158332,
//	  "fields":[{"name":"service","value":"imdb","inline":true},
//	            {"name":"value","value":"0","inline":true}],
//	  "timestamp":"2025-03-01T12:00:00Z"}]}
//
// The title is the level's emoji and name, then the alert's title (its rule
// name when it has none): 🔵 INFO (blue, 0x3498DB), 🟠 WARNING (amber,
// 0xF39C12), 🔴 CRITICAL (red, 0xE74C3C), and ✅ RESOLVED (green, 0x2ECC71)
// for a resolved alert of any level. The fields are "traces" (the alert's
// TraceIDs on a line of their own, when it has any), the alert's labels in
// name order, then its value. The timestamp is when the alert started, or
// when it resolved. allowed_mentions is empty so that text in an alert can
// never ping @everyone, a role or a user.
//
// # Limits
//
// Text is cut to Discord's limits, counted in UTF-16 code units and ending
// in "…": title 256, description 4096, field name 256, field value 1024, at
// most 25 fields (the first 24 labels and the value; further labels are
// left out), and 6000 for the embed as a whole (labels are dropped from the
// end, then the description is shortened). Empty field values are sent as
// "-", as Discord refuses empty ones.
//
// # Rate limits
//
// Discord answers 429 with a Retry-After header and a JSON body
// {"retry_after": seconds, "global": bool}. Notify returns an
// *alerting.StatusError whose Delay is the longer of the two, so the
// engine waits as long as Discord asked.
//
// # Secrets
//
// A webhook URL carries its token in the path: errors and String show only
// its scheme and host.
//
// # Configuration
//
// [New] takes the receiver's URL and sealed options: [WithUsername],
// [WithAvatarURL], [WithName], [WithHTTPClient], [WithClock]. Each option's
// documentation states its default; a zero value (nil, "") means that
// default, except that WithUsername("") leaves the webhook's own name rather
// than DefaultUsername. New reports every invalid argument or option (an
// empty name, a URL that is not absolute http or https) as a [*ConfigError]
// naming it (webhookURL, WithName, ...) and wrapping [ErrInvalidConfig],
// several joined with errors.Join; it starts nothing, and a Notifier has
// nothing to shut down. [ConfigError] and [ErrInvalidConfig] are the same in
// every notifier package.
//
// # Delivery
//
// Notify makes exactly one attempt; retries are the engine's. 429 and 5xx
// are retryable, other non-2xx answers (400 for a payload Discord refuses,
// 404 for a deleted webhook) are not; transport errors are retryable unless
// ctx was cancelled. A Notifier is safe for concurrent use.
package discord
