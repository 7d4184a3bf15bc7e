// Command webhook stands in for an on-call system in the fleet layout
// (examples/fleet/docker-compose.yml): it prints one line for each
// notification Alertmanager's webhook integration sends it, with the
// group, its status and the instances of its alerts, and one for each
// alert an otelmon instance's webhook notifier (the demo's -webhook) sends
// it, with the path it was sent to, so that instances can tell themselves
// apart by path.
//
//	go run ./examples/fleet/webhook -listen :8080
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"
	"time"
)

// message is the part of Alertmanager's webhook payload (version 4), or
// of otelmon's (alerting/webhook, version 1, with alert), that the
// receiver prints.
type message struct {
	Status string `json:"status"`
	Alert  *struct {
		Rule   string            `json:"rule"`
		Labels map[string]string `json:"labels"`
	} `json:"alert"`
	GroupLabels map[string]string `json:"groupLabels"`
	Alerts      []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// handler prints each notification to out and answers 200; a body that is
// not a notification gets 400.
func handler(out io.Writer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m message
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&m); err != nil {
			http.Error(w, "not an Alertmanager notification: "+err.Error(), http.StatusBadRequest)
			return
		}
		if a := m.Alert; a != nil {
			var labels []string
			for k, v := range a.Labels {
				labels = append(labels, k+"="+v)
			}
			slices.Sort(labels)
			fmt.Fprintf(out, "%s %s %s {%s}\n", r.URL.Path, m.Status, a.Rule, strings.Join(labels, ","))
			return
		}
		var group, instances []string
		for k, v := range m.GroupLabels {
			group = append(group, k+"="+v)
		}
		for _, a := range m.Alerts {
			instances = append(instances, a.Labels["instance"]+"("+a.Status+")")
		}
		slices.Sort(group)
		slices.Sort(instances)
		fmt.Fprintf(out, "%s {%s} %d alerts: %s\n", m.Status, strings.Join(group, ","), len(m.Alerts), strings.Join(instances, " "))
	})
}

func main() {
	listen := flag.String("listen", ":8080", "address to receive notifications on")
	flag.Parse()
	srv := &http.Server{
		Addr:              *listen,
		Handler:           handler(log.Writer()),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       time.Minute,
	}
	log.Fatal(srv.ListenAndServe())
}
