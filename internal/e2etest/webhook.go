package e2etest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// Notification is the part of Alertmanager's webhook payload the tests
// check.
type Notification struct {
	Receiver    string            `json:"receiver"`
	GroupKey    string            `json:"groupKey"`
	Status      string            `json:"status"` // firing or resolved
	GroupLabels map[string]string `json:"groupLabels"`
	Alerts      []NotifiedAlert   `json:"alerts"`
}

// NotifiedAlert is the part of an alert of a [Notification] the tests
// check.
type NotifiedAlert struct {
	Status string            `json:"status"` // firing or resolved
	Labels map[string]string `json:"labels"`
}

// Receiver records the JSON bodies of type T posted to it: a webhook's
// notifications.
type Receiver[T any] struct {
	// URL is the address to configure as the webhook's url.
	URL string

	mu   sync.Mutex
	msgs []T // through mu
}

// StartReceiver starts a receiver of T on loopback, at path, and closes it
// when the test ends. It answers 400 to a body that is not a T.
func StartReceiver[T any](t testing.TB, path string) *Receiver[T] {
	t.Helper()
	r := &Receiver[T]{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m T
		if err := json.NewDecoder(req.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + path
	return r
}

// Received returns the bodies received so far, in the order received.
func (r *Receiver[T]) Received() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// WebhookReceiver records the notifications Alertmanagers send it.
type WebhookReceiver struct{ *Receiver[Notification] }

// StartWebhookReceiver starts a receiver of Alertmanager's notifications
// on loopback and closes it when the test ends.
func StartWebhookReceiver(t testing.TB) *WebhookReceiver {
	t.Helper()
	return &WebhookReceiver{StartReceiver[Notification](t, "/alerts")}
}

// ByGroup returns the notifications received so far by group key, each
// group's in the order received.
func (r *WebhookReceiver) ByGroup() map[string][]Notification {
	out := map[string][]Notification{}
	for _, m := range r.Received() {
		out[m.GroupKey] = append(out[m.GroupKey], m)
	}
	return out
}
