package otelmon

import "net/http"

func (m *Monitor) activeAlertCounts() (critical, warning int) { return 0, 0 }

func (m *Monitor) serveAlerts(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	writeJSON(w, http.StatusOK, []any{})
}

func (m *Monitor) serveAcknowledge(w http.ResponseWriter, r *http.Request, p map[string]string) {
	writeError(w, http.StatusNotFound, CodeNotFound, "no such alert")
}
