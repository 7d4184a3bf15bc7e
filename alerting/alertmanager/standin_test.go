package alertmanager

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/listsync/otelmon/alerting/silence"
)

// amCluster stands in for the silences of an Alertmanager cluster, as its
// v2 API serves them (api/v2/openapi.yaml of prometheus/alertmanager). Its
// members share one list: what gossip makes of a cluster once it has
// replicated a change. Each behaviour below names the documented one it
// imitates.
type amCluster struct {
	now func() time.Time

	mu       sync.Mutex
	silences []gettableSilence
	down     map[int]bool    // members that answer 503, as one not ready does
	requests map[int]int     // requests per member
	posted   []postableAlert // the alerts every member was sent, in order
	hang     bool            // members answer nothing until the request ends
}

func newAMCluster(now func() time.Time) *amCluster {
	return &amCluster{now: now, down: map[int]bool{}, requests: map[int]int{}}
}

// member starts member i of the cluster and returns its base URL.
func (c *amCluster) member(t testing.TB, i int) string {
	t.Helper()
	ended := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.requests[i]++
		down, hang := c.down[i], c.hang
		c.mu.Unlock()
		switch {
		case hang:
			select {
			case <-r.Context().Done():
			case <-ended:
			}
			return
		case down:
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		c.serve(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(ended) }) // first: a hanging handler lets Close end
	return srv.URL
}

func (c *amCluster) setDown(i int, down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down[i] = down
}

// postedFiring counts the firing alerts of the rule posted to the members.
func (c *amCluster) postedFiring(rule string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, a := range c.posted {
		if a.Labels["alertname"] == rule && (a.EndsAt.IsZero() || a.EndsAt.After(c.now())) {
			n++
		}
	}
	return n
}

func (c *amCluster) requestsTo(i int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests[i]
}

func (c *amCluster) serve(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == alertsPath:
		// postAlerts: 200 with no body.
		var as []postableAlert
		if json.NewDecoder(r.Body).Decode(&as) == nil {
			c.posted = append(c.posted, as...)
		}
	case r.Method == http.MethodPost && r.URL.Path == silencesPath:
		var p postableSilence
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil || len(p.Matchers) == 0 || !p.EndsAt.After(p.StartsAt) {
			// postSilences: 400 with the reason as a JSON string.
			writeAM(w, http.StatusBadRequest, "silence invalid: at least one matcher and an end after the start are required")
			return
		}
		// silence.Silences.Set: a start in the past is now; the ID a
		// random UUID.
		g := gettableSilence{ID: uuid.NewString(), Matchers: p.Matchers, StartsAt: later(p.StartsAt, now), EndsAt: p.EndsAt,
			UpdatedAt: now, CreatedBy: p.CreatedBy, Comment: p.Comment}
		c.silences = append(c.silences, g)
		writeAM(w, http.StatusOK, map[string]string{"silenceID": g.ID}) // postSilences: 200 {"silenceID"}
	case r.Method == http.MethodGet && r.URL.Path == silencesPath:
		// getSilences: every silence, gettableSilence with status.state
		// as types.CalcSilenceState computes it.
		out := []map[string]any{}
		for _, g := range c.silences {
			state := silence.Active
			switch {
			case !now.Before(g.EndsAt):
				state = silence.Expired
			case now.Before(g.StartsAt):
				state = silence.Pending
			}
			out = append(out, map[string]any{"id": g.ID, "status": map[string]any{"state": state}, "matchers": g.Matchers,
				"startsAt": g.StartsAt, "endsAt": g.EndsAt, "updatedAt": g.UpdatedAt, "createdBy": g.CreatedBy, "comment": g.Comment})
		}
		writeAM(w, http.StatusOK, out)
	case r.Method == http.MethodDelete && len(r.URL.Path) > len(silencePath)+1 && r.URL.Path[:len(silencePath)+1] == silencePath+"/":
		id := r.URL.Path[len(silencePath)+1:]
		if _, err := uuid.Parse(id); err != nil {
			writeAM(w, http.StatusUnprocessableEntity, map[string]any{"code": 601, "message": "silenceID in path must be of type uuid"})
			return
		}
		i := slices.IndexFunc(c.silences, func(g gettableSilence) bool { return g.ID == id })
		if i < 0 {
			writeAM(w, http.StatusNotFound, "silence not found") // deleteSilence: 404
			return
		}
		// silence.Silences.Expire: an expired silence stays as it is; a
		// pending one starts and ends now; an active one ends now.
		g := &c.silences[i]
		if now.Before(g.EndsAt) {
			g.StartsAt = earlier(g.StartsAt, now)
			g.EndsAt, g.UpdatedAt = now, now
		}
		w.WriteHeader(http.StatusOK)
	default:
		writeAM(w, http.StatusNotFound, "not found")
	}
}

func writeAM(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
