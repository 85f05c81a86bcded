package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// rssTarget is P7's memory goal for either shipped pipeline at 2,000
// interfaces.
const (
	rssTarget    = 150 << 20
	rssTargetIfs = 2000
)

// report prints the results as markdown: one table of every job on every
// input with its ratio to the C exporter on the same input, then the P7
// targets and whether this run met them.
func report(results []result, inputs []input, jobs []job, scrapes, rounds int, took time.Duration, goVersion string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## End to end: otelcol-vpp against vpp_prometheus_export (same run, same segments)\n\n")
	fmt.Fprintf(&b, "%s, %s/%s, %d CPUs; up to %d scrapes per job after a warm-up (column scrapes); the run took %v.\n", goVersion, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), scrapes, took.Round(time.Second))
	if rounds > 1 {
		fmt.Fprintf(&b, "%d rounds: in each, the jobs of an input run one after the other. A row is the job's median round (by CPU); its ratio is the median of its ratios to the C exporter of the same round, with all rounds' ratios in parentheses. Variants ran in the first round only.\n", rounds)
	}
	for _, in := range inputs {
		fmt.Fprintf(&b, "Input %s: %s, collection interval %v, served by `vppstat serve --replay` updated every %v as a live VPP's (heartbeat, last_update, interface and node counters, in place).\n", in.name, in.segment, in.interval, in.interval)
	}
	b.WriteString("\nCPU is utime+stime of the job's process per scrape (per /metrics request for pull jobs, including the collector's scrape in that interval). Scrapes/interval below 1 means the job could not keep up with the interval.\n\n")
	b.WriteString("| input | job | scrapes | CPU per scrape | x C exporter | scrapes/interval | points or series | bytes per scrape (wire / decoded) | /metrics latency p50 / max | RSS peak / end |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	cBase := map[string]result{}
	for _, r := range results {
		if r.err == nil && isCExporter(r) {
			cBase[r.input] = r
		}
	}
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(&b, "| %s | %s | failed: %s | | | | | | | |\n", r.input, r.job, firstLine(r.err.Error()))
			continue
		}
		ratio := "-"
		if x, ok := r.ratio(); ok {
			ratio = fmt.Sprintf("%.2fx", x)
			if len(r.ratios) > 1 {
				all := make([]string, len(r.ratios))
				for i, y := range r.ratios {
					all[i] = fmt.Sprintf("%.2f", y)
				}
				ratio += " (" + strings.Join(all, ", ") + ")"
			}
		}
		pageBytes, lat := "-", "-"
		if r.textBytes > 0 {
			pageBytes = fmt.Sprintf("%s / %s", mb(r.wireBytes), mb(r.textBytes))
		}
		if r.latMax > 0 {
			lat = fmt.Sprintf("%s / %s", ms(r.latP50), ms(r.latMax))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %.2f | %s | %s | %s | %s / %s |\n", r.input, r.job, r.scrapes, ms(r.cpu), ratio, r.keepUp,
			group(r.series), pageBytes, lat, mb(r.rssPeak), mb(r.rssEnd))
	}

	b.WriteString("\n| P7 target | input | measured | met |\n|---|---|---|---|\n")
	byKey := map[string]result{}
	for _, r := range results {
		byKey[r.input+"|"+r.job] = r
	}
	for _, in := range inputs {
		c, haveC := cBase[in.name]
		for _, j := range jobs {
			r, ok := byKey[in.name+"|"+j.name]
			if j.target == 0 || !ok || r.err != nil || !haveC {
				continue
			}
			ratio, _ := r.ratio()
			fmt.Fprintf(&b, "| %s <= %.2fx C exporter CPU | %s | %.2fx | %s |\n", j.name, j.target, in.name, ratio, yes(ratio <= j.target))
			if j.via == viaPull {
				fmt.Fprintf(&b, "| %s /metrics latency below the C exporter's (p50) | %s | %s vs %s | %s |\n", j.name, in.name, ms(r.latP50), ms(c.latP50), yes(r.latP50 < c.latP50))
			}
			if in.ifs >= rssTargetIfs && in.ifs < 2*rssTargetIfs && j.via != viaDebug {
				fmt.Fprintf(&b, "| %s peak RSS <= %s at ~%d interfaces | %s | %s | %s |\n", j.name, mb(rssTarget), rssTargetIfs, in.name, mb(r.rssPeak), yes(r.rssPeak <= rssTarget))
			}
		}
	}
	return b.String()
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.ReplaceAll(s, "|", "/")
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func mb(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// group puts thousands separators into an integer.
func group(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
