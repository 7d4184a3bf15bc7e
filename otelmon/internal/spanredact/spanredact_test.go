package spanredact

import (
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

const secret = "s3cr3t-t0ken"

func attrOf(kvs []attribute.KeyValue, key string) (attribute.Value, bool) {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// The secrets a span could pick up are masked wherever they appear.
func TestAttrs(t *testing.T) {
	in := []attribute.KeyValue{
		attribute.String("url.full", "https://u:p@api.example/3/movie?api_key="+secret+"&page=1"),
		attribute.String("url.query", "api_key="+secret),
		attribute.StringSlice("http.request.header.authorization", []string{"Bearer " + secret}),
		attribute.StringSlice("http.request.header.x-plex-token", []string{secret}),
		attribute.String("error", `Get "https://api.example/?X-Plex-Token=`+secret+`": EOF`),
		attribute.String("note", "token="+secret+" and Bearer "+secret),
		attribute.Int("n", 3),
	}
	out := Attrs(in)
	for _, kv := range out {
		if strings.Contains(kv.Value.String(), secret) || strings.Contains(kv.Value.String(), "u:p@") {
			t.Errorf("%s = %s", kv.Key, kv.Value.String())
		}
	}
	if in[0].Value.AsString() == out[0].Value.AsString() {
		t.Error("input changed or output not redacted")
	}
	if v, _ := attrOf(out, "n"); v.AsInt64() != 3 {
		t.Error("a number was changed")
	}
	plain := []attribute.KeyValue{attribute.String("k", "nothing here")}
	if got := Attrs(plain); &got[0] != &plain[0] {
		t.Error("clean attributes were copied")
	}
}
