// Package names holds the metric naming scheme shared by every otelmon
// package, so that the instruments a package records and the rules that read
// them agree on one spelling.
//
// Instruments are named with their full Prometheus name
// (namespace_subsystem_suffix) and the Prometheus exporter is configured not to
// add suffixes, so the exposition, OTLP consumers and in-process alert rules all
// see the same name.
package names

import "strings"

// Defaults for the namespace and subsystem, as in the reference service.
const (
	DefaultNamespace = "radarr"
	DefaultSubsystem = "list_sync"
)

// Metric name suffixes. The full name is Prefix.Name(suffix).
const (
	SyncOperationsTotal        = "sync_operations_total"
	SyncOperationsSuccessTotal = "sync_operations_success_total"
	SyncOperationsFailedTotal  = "sync_operations_failed_total"
	SyncDurationSeconds        = "sync_duration_seconds"
	ItemsAddedTotal            = "items_added_total"
	ItemsUpdatedTotal          = "items_updated_total"
	ItemsFoundTotal            = "items_found_total"
	ConsecutiveFailures        = "consecutive_failures"
	LastSuccessfulSync         = "last_successful_sync_timestamp"
	CacheHitsTotal             = "cache_hits_total"
	CacheMissesTotal           = "cache_misses_total"

	APIRequestsTotal       = "api_requests_total"
	APIRateLimitHitsTotal  = "api_rate_limit_hits_total"
	APIRequestDuration     = "api_request_duration_seconds"
	ServiceUp              = "service_up"
	CircuitBreakerFailures = "circuit_breaker_failures"
	CircuitBreakerState    = "circuit_breaker_state"
	CircuitBreakerRejected = "circuit_breaker_rejected_total"
	CircuitBreakerTransits = "circuit_breaker_transitions_total"

	AlertsFiring              = "alerts_firing"
	NotificationsSentTotal    = "notifications_sent_total"
	NotificationsFailedTotal  = "notifications_failed_total"
	NotificationsDroppedTotal = "notifications_dropped_total"
)

// Attribute (label) keys.
const (
	AttrSource   = "source"
	AttrService  = "service"
	AttrType     = "type"
	AttrLevel    = "level"
	AttrNotifier = "notifier"
	AttrFrom     = "from"
	AttrTo       = "to"
)

// Prefix is "namespace_subsystem_", the part every metric name starts with.
type Prefix string

// New joins namespace and subsystem the way Prometheus' BuildFQName does:
// empty parts are left out.
func New(namespace, subsystem string) Prefix {
	var parts []string
	for _, p := range []string{namespace, subsystem} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return Prefix(strings.Join(parts, "_") + "_")
}

// Default is the prefix for the default namespace and subsystem,
// New(DefaultNamespace, DefaultSubsystem).
const Default Prefix = DefaultNamespace + "_" + DefaultSubsystem + "_"

// Name returns the full metric name for suffix.
func (p Prefix) Name(suffix string) string { return string(p) + suffix }

// APIRequestErrorsTotal is the suffix of the counter of the requests of
// api_requests_total that were answered with a 5xx status, failed in
// transport or timed out, per service: the errors of the API availability
// objective (alerting.APIAvailabilityObjective).
const APIRequestErrorsTotal = "api_request_errors_total"
