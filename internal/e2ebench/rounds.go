package main

import (
	"slices"
	"time"
)

// summarize makes one row per input and job out of every round's results.
// Processes measured minutes apart on a shared machine drift (the same job
// measured 10 and 39 ms per scrape in two runs of one afternoon), so the
// jobs of an input run one after the other in each round, each job's ratio
// is taken against the C exporter of its own round, and the row is the
// job's median round, with every round's ratio. A job that failed in any
// round is reported as failed: a failure is a finding, not noise.
func summarize(results []result) []result {
	cpuOfC := map[inputRound]time.Duration{}
	var order []string
	groups := map[string][]result{}
	for _, r := range results {
		if r.err == nil && isCExporter(r) {
			cpuOfC[roundKey(r)] = r.cpu
		}
		k := r.input + "|" + r.job
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	out := make([]result, 0, len(order))
	for _, k := range order {
		g := groups[k]
		if i := slices.IndexFunc(g, func(r result) bool { return r.err != nil }); i >= 0 {
			out = append(out, g[i])
			continue
		}
		var ratios []float64
		for _, r := range g {
			if c := cpuOfC[roundKey(r)]; c > 0 {
				ratios = append(ratios, float64(r.cpu)/float64(c))
			}
		}
		slices.SortFunc(g, func(a, b result) int { return int(a.cpu - b.cpu) })
		m := g[(len(g)-1)/2]
		slices.Sort(ratios)
		m.ratios = ratios
		out = append(out, m)
	}
	return out
}

// ratio is the median of the job's per-round ratios to the C exporter.
func (r result) ratio() (float64, bool) {
	if len(r.ratios) == 0 {
		return 0, false
	}
	return r.ratios[(len(r.ratios)-1)/2], true
}

func isCExporter(r result) bool {
	return slices.ContainsFunc(jobs, func(j job) bool { return j.cExporter && j.name == r.job })
}

type inputRound struct {
	input string
	round int
}

func roundKey(r result) inputRound { return inputRound{r.input, r.round} }
