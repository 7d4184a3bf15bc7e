package e2etest

// Query is a PromQL query with a name for messages and subtests.
type Query struct {
	Name string
	Expr string
}

// GuideQueries returns the queries the integration guide recommends for
// Grafana over the radarr_list_sync_* metrics (examples/grafana/README.md
// lists them as panels of the example dashboard).
func GuideQueries() []Query {
	return []Query{
		{"sync success rate", `rate(radarr_list_sync_sync_operations_success_total[5m]) / rate(radarr_list_sync_sync_operations_total[5m])`},
		{"average sync duration", `rate(radarr_list_sync_sync_duration_seconds_sum[5m]) / rate(radarr_list_sync_sync_duration_seconds_count[5m])`},
		{"cache hit rate", `rate(radarr_list_sync_cache_hits_total[5m]) / (rate(radarr_list_sync_cache_hits_total[5m]) + rate(radarr_list_sync_cache_misses_total[5m]))`},
		{"service health", `radarr_list_sync_service_up`},
	}
}
