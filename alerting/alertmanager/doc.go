// Package alertmanager delivers alerts to a Prometheus Alertmanager through
// its v2 API, so that Alertmanager's routing, grouping, inhibition and
// silences apply to otelmon's alerts as they do to Prometheus'.
//
// # Payload
//
// Each Notify call POSTs a JSON array with one postable alert to
// {base}/api/v2/alerts:
//
//	[{"labels":{"alertname":"service-down","service":"imdb","severity":"critical"},
//	  "annotations":{"description":"imdb failed 3 health checks","summary":"Service imdb is down","value":"0"},
//	  "startsAt":"2025-03-01T12:00:00Z",
//	  "endsAt":"2025-03-01T12:10:00Z",
//	  "generatorURL":"https://status.example.com/alerts"}]
//
// Labels are alertname (the rule's name) and severity (info, warning or
// critical), then the alert's own labels, then job and instance. Alertmanager
// identifies an alert by its label set, as otelmon identifies it by rule and
// labels, so the two agree on what is one alert.
//
// # Instances of a fleet
//
// job and instance name the process as the collector's Prometheus exporters
// name its metrics: instance is the resource's service.instance.id (a UUID
// per process unless OTEL_RESOURCE_ATTRIBUTES sets one, e.g. the pod name),
// job its service.namespace/service.name, or service.name alone. The
// resource is built as the Monitor builds its own: service.name is
// [WithServiceName]'s name, exporters.DefaultServiceName ("otelmon") by
// default as for the Monitor, and OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override it. Give [WithServiceName] the name
// given to otelmon.WithServiceName, or, for a host that builds its own
// MeterProvider, give [WithResource] that provider's resource. So the
// alerts of two instances stay two alerts, and one instance resolving its
// alert does not resolve the other's; and an alert an instance raises and
// its Prometheus twin (alerting.PrometheusRules, evaluated on the same
// instance's series) carry the same labels, job included, so Alertmanager
// takes them for one alert.
// Alertmanager's group_by then decides what is one incident: grouping by
// alertname and service (not instance) makes an upstream that is down for
// every instance one notification. [WithExternalLabels] sets other labels
// or overrides these.
//
// Label names are made valid Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*):
// every other character becomes '_', and a name starting with a digit gets
// a leading '_' ("http.status" → "http_status", "5xx" → "_5xx"). When two
// names meet, alertname and severity win over the alert's labels, a label
// whose name was already valid wins over one that was changed into it, and
// otherwise the first in byte order wins. Labels with an empty value are left
// out, as Alertmanager ignores them.
//
// Annotations are summary (the title), description (when not empty),
// value, and traceIds: the alert's TraceIDs, comma-separated, when it has
// any. startsAt is when the alert started; generatorURL is set by
// [WithGeneratorURL] and left out by default.
//
// # Resolution and endsAt
//
// A resolved alert is sent with endsAt set to the time it resolved, which
// resolves it in Alertmanager at once.
//
// Alertmanager resolves a firing alert on its own once its endsAt passes,
// and gives an alert sent without endsAt one of now + resolve_timeout (5m by
// default). A firing alert must therefore be re-sent more often than that
// for as long as it fires, as Prometheus does. By default endsAt is left out
// of firing alerts, so Alertmanager's resolve_timeout applies;
// [WithResendWindow] sets it to now + the window instead, which makes the
// deadline explicit and independent of Alertmanager's configuration.
//
// # Silences
//
// Once a Notifier is registered with an engine, the engine's silences are
// the Alertmanager cluster's: [Notifier.CreateSilence],
// [Notifier.ListSilences] and [Notifier.ExpireSilence] speak the v2 API's
// silence endpoints for it, and [Notifier.SilenceLabels] tells it the
// labels Alertmanager gets for an alert, which the cluster's silences
// match (see alerting.Engine.CreateSilence). Several Notifiers of one
// engine are taken for members of one cluster, tried in the order
// registered; the first one's labels are those silences match, so give
// every member the same external labels.
//
// # Credentials
//
// The base URL may carry basic-auth credentials
// (https://user:password@alertmanager.example.com). They are taken out of
// the URL and sent in an Authorization header, so they never appear in
// errors or in String; query values are masked there too.
//
// # Configuration
//
// [New] takes the receiver's URL and sealed options: [WithGeneratorURL],
// [WithResendWindow], [WithResendInterval], [WithoutResend],
// [WithServiceName], [WithResource], [WithExternalLabels], [WithName],
// [WithHTTPClient], [WithClock]. Each option's documentation states its
// default; a zero value (nil, "", 0) means that default. New reports every
// invalid argument or option (a negative duration, an empty name, a URL that
// is not absolute http or https) as a [*ConfigError] naming it (baseURL,
// WithName, ...) and wrapping [ErrInvalidConfig], several joined with
// errors.Join; it starts nothing, and a Notifier has nothing to shut down.
// [ConfigError] and [ErrInvalidConfig] are the same in every notifier
// package.
//
// # Delivery
//
// Notify makes exactly one attempt; retries are the engine's. 429 and 5xx
// are retryable, 400 (an alert Alertmanager refuses; its reason is added to
// the error) and other answers are not; transport errors are retryable
// unless ctx was cancelled. A Notifier is safe for concurrent use.
package alertmanager
