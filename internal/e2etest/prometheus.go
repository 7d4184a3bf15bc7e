package e2etest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
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
