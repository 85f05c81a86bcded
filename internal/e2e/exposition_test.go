package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// sameExposition checks that two /metrics pages (the contrib prometheus
// exporter's and prometheus_text's, fed by the same receiver) parse with
// Prometheus's text parser into the same families (type, help) and series
// (labels, value). The replayed segment does not move, so values agree
// whichever scrape each exporter last took in.
func sameExposition(t *testing.T, want, got string) {
	t.Helper()
	w, g := parseExposition(t, want), parseExposition(t, got)
	var diffs []string
	for k, v := range w {
		if gv, ok := g[k]; !ok {
			diffs = append(diffs, "missing "+k)
		} else if gv != v {
			diffs = append(diffs, fmt.Sprintf("%s: %s, contrib %s", k, gv, v))
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			diffs = append(diffs, "extra "+k)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("prometheus_text differs from the contrib prometheus exporter in %d of %d lines, e.g.\n%s",
			len(diffs), len(w), strings.Join(diffs[:min(10, len(diffs))], "\n"))
	}
	if len(w) < 1000 {
		t.Errorf("only %d series and family lines from the contrib exporter", len(w))
	}
}

// parseExposition maps "# TYPE name", "# HELP name" and each series
// (name{sorted labels}) of a page to its text, type or value.
func parseExposition(t *testing.T, page string) map[string]string {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(page))
	if err != nil {
		t.Fatalf("Prometheus's text parser: %v", err)
	}
	out := map[string]string{}
	for name, mf := range mfs {
		out["# TYPE "+name] = mf.GetType().String()
		out["# HELP "+name] = mf.GetHelp()
		for _, m := range mf.Metric {
			out[name+labelText(m.Label)] = fmt.Sprint(m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue())
		}
	}
	return out
}

func labelText(ls []*dto.LabelPair) string {
	parts := make([]string, 0, len(ls))
	for _, l := range ls {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}
