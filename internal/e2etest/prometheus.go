package e2etest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// API fetches path from a Prometheus process's HTTP API and decodes the
// data of a successful response into v. It returns the response's body,
// for messages, and an error unless the request succeeded with status
// "success".
func (p *Process) API(path string, v any) ([]byte, error) {
	code, body, err := p.Get(path)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return body, fmt.Errorf("GET %s: %d: %w: %s", path, code, err, body)
	}
	if code != http.StatusOK || r.Status != "success" {
		return body, fmt.Errorf("GET %s: %d %s: %s", path, code, r.Status, r.Error)
	}
	return body, json.Unmarshal(r.Data, v)
}

// Series is one element of an instant vector of Prometheus' query API.
type Series struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // time and value as a string
}

// Finite reports whether the series' value is a number, neither NaN nor
// infinite.
func (s Series) Finite() bool {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	return err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// Query runs an instant query of expr against a Prometheus process and
// returns the vector it answers; an answer of another type is an error.
func (p *Process) Query(expr string) ([]Series, error) {
	var data struct {
		ResultType string   `json:"resultType"`
		Result     []Series `json:"result"`
	}
	if _, err := p.API("/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %q, want vector", expr, data.ResultType)
	}
	return data.Result, nil
}

// StartPrometheus starts the prometheus program bin with the configuration
// file cfg on a free loopback port, storing its data under dataDir, with
// the extra flags, and waits until it is ready. It stops when the test
// ends (see [Start]).
func StartPrometheus(t testing.TB, bin, cfg, dataDir string, extra ...string) *Process {
	t.Helper()
	listen := FreeAddr(t)
	p := Start(t, "prometheus", listen, nil, bin, append([]string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + dataDir,
		"--web.listen-address=" + listen,
		"--storage.tsdb.retention.time=1h",
	}, extra...)...)
	p.WaitReady(t, "/-/ready", 30*time.Second)
	return p
}

// WaitTargetUp waits up to timeout until a Prometheus process has scraped
// the target of job at instance (host:port) successfully, at
// http://instance/metrics.
func (p *Process) WaitTargetUp(t testing.TB, timeout time.Duration, job, instance string) {
	t.Helper()
	p.Poll(t, timeout, "target "+instance+" of job "+job+" up", func() error {
		var data struct {
			ActiveTargets []struct {
				Labels    map[string]string `json:"labels"`
				ScrapeURL string            `json:"scrapeUrl"`
				Health    string            `json:"health"`
				LastError string            `json:"lastError"`
			} `json:"activeTargets"`
		}
		body, err := p.API("/api/v1/targets?state=active", &data)
		if err != nil {
			return err
		}
		for _, tg := range data.ActiveTargets {
			if tg.Labels["job"] != job || tg.Labels["instance"] != instance {
				continue
			}
			if want := "http://" + instance + "/metrics"; tg.ScrapeURL != want {
				return fmt.Errorf("scrape URL %s, want %s", tg.ScrapeURL, want)
			}
			if tg.Health != "up" {
				return fmt.Errorf("health %q, last error %q", tg.Health, tg.LastError)
			}
			return nil
		}
		return fmt.Errorf("no target job=%q instance=%q in %s", job, instance, body)
	})
}

// Point is one sample of a range vector.
type Point struct {
	T time.Time
	V float64
}

// Samples is one series of a range vector: its labels and its samples,
// oldest first.
type Samples struct {
	Metric map[string]string
	Points []Point
}

// QueryRangeVector runs an instant query at time at of expr, a range vector
// selector such as `ALERTS[5m]`, against a Prometheus process and returns
// the raw samples it answers (stale markers are not among them).
func (p *Process) QueryRangeVector(expr string, at time.Time) ([]Samples, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	q := "/api/v1/query?query=" + url.QueryEscape(expr) + "&time=" + strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
	if _, err := p.API(q, &data); err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	if data.ResultType != "matrix" {
		return nil, fmt.Errorf("query %s: result type %q, want matrix", expr, data.ResultType)
	}
	out := make([]Samples, 0, len(data.Result))
	for _, r := range data.Result {
		s := Samples{Metric: r.Metric, Points: make([]Point, 0, len(r.Values))}
		for _, v := range r.Values {
			ts, ok1 := v[0].(float64)
			str, ok2 := v[1].(string)
			f, err := strconv.ParseFloat(str, 64)
			if !ok1 || !ok2 || err != nil {
				return nil, fmt.Errorf("query %s: malformed sample %v", expr, v)
			}
			s.Points = append(s.Points, Point{T: time.UnixMilli(int64(math.Round(ts * 1000))), V: f})
		}
		out = append(out, s)
	}
	return out, nil
}
