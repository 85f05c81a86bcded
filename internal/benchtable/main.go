// Command benchtable reads the output of `go test -bench -benchmem` for the
// statseg and receiver benchmarks (make bench) on stdin and prints one
// markdown table: every profile x benchmark with its cost, per cell or
// point, and its ratio to the baseline measured in the same run. A line
// "govpp: go.fd.io/govpp VERSION" (make bench writes it from go.mod) names
// the govpp release behind every govpp figure. VPP's C exporter is not
// compared here: internal/e2ebench measures it end to end in the same run.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

type result struct {
	bench, profile string
	v              map[string]float64 // unit -> value
}

var procSuffix = regexp.MustCompile(`-\d+$`)

func parse(line string) (result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return result{}, false
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return result{}, false
	}
	name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 {
		return result{}, false
	}
	r := result{bench: parts[0], profile: parts[1], v: map[string]float64{}}
	if len(parts) == 3 {
		r.bench += " " + parts[2]
	}
	for i := 2; i+1 < len(f); i += 2 {
		x, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		r.v[f[i+1]] = x
	}
	return r, true
}

var order = []string{"CopyFloor", "Read", "GovppDump", "GovppUpdateDir", "Scrape default", "Scrape per_thread"}

func main() {
	var profiles []string
	byKey := map[string]result{}
	var notes []string
	govpp := "govpp (version not given)"
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "govpp: "); ok {
			govpp = strings.TrimSpace(v)
			continue
		}
		if i := strings.Index(line, "heap: "); i >= 0 {
			notes = append(notes, line[i:])
			continue
		}
		r, ok := parse(line)
		if !ok {
			continue
		}
		if !seen(profiles, r.profile) {
			profiles = append(profiles, r.profile)
		}
		byKey[r.profile+"|"+r.bench] = r
	}
	get := func(p, b string) (result, bool) { r, ok := byKey[p+"|"+b]; return r, ok }

	fmt.Println("| profile | benchmark | ns/op | allocs/op | B/op | cells/op | points/op | ns/cell | ns/point | vs baseline (same run) |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
	for _, p := range profiles {
		for _, b := range order {
			r, ok := get(p, b)
			if !ok {
				continue
			}
			var base string
			switch {
			case b == "CopyFloor":
				base = "floor"
			case b == "Read":
				var s []string
				if f, ok := get(p, "CopyFloor"); ok {
					s = append(s, fmt.Sprintf("%.2fx CopyFloor", r.v["ns/op"]/f.v["ns/op"]))
				}
				for _, gb := range []string{"GovppDump", "GovppUpdateDir"} {
					if g, ok := get(p, gb); ok {
						s = append(s, fmt.Sprintf("%.0fx faster than %s (%s)", g.v["ns/op"]/r.v["ns/op"], gb, govpp))
					}
				}
				base = strings.Join(s, ", ")
			case strings.HasPrefix(b, "Govpp"):
				base = govpp
				if rd, ok := get(p, "Read"); ok {
					base = fmt.Sprintf("%.0fx Read (%s)", r.v["ns/op"]/rd.v["ns/op"], govpp)
				}
			case strings.HasPrefix(b, "Scrape"):
				base = "C exporter: see the end-to-end table"
			}
			fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p, b,
				num(r.v, "ns/op", 0), num(r.v, "allocs/op", 0), num(r.v, "B/op", 0),
				num(r.v, "cells/op", 0), num(r.v, "points/op", 0),
				num(r.v, "ns/cell", 1), num(r.v, "ns/point", 1), base)
		}
	}

	// Linearity: the marginal cost of a cell (Read) or point (Scrape)
	// between the simulated sizes at the same thread count.
	fmt.Println()
	fmt.Println("| slope (marginal ns per unit) | threads | 1k -> 10k | 10k -> 50k |")
	fmt.Println("|---|--:|--:|--:|")
	for _, b := range []string{"Read", "Scrape default", "Scrape per_thread"} {
		unit := "points/op"
		if b == "Read" {
			unit = "cells/op"
		}
		for _, t := range []string{"1", "4", "8"} {
			slope := func(from, to string) string {
				x, ok1 := get("sim-"+from+"x"+t, b)
				y, ok2 := get("sim-"+to+"x"+t, b)
				if !ok1 || !ok2 || y.v[unit] == x.v[unit] {
					return "-"
				}
				return fmt.Sprintf("%.1f ns/%s", (y.v["ns/op"]-x.v["ns/op"])/(y.v[unit]-x.v[unit]), strings.TrimSuffix(unit, "s/op"))
			}
			a, c := slope("1000", "10000"), slope("10000", "50000")
			if a == "-" && c == "-" {
				continue
			}
			fmt.Printf("| %s | %s | %s | %s |\n", b, t, a, c)
		}
	}
	if len(notes) > 0 {
		fmt.Println()
		for _, n := range notes {
			fmt.Println("- " + n)
		}
	}
}

func seen(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func num(v map[string]float64, unit string, prec int) string {
	x, ok := v[unit]
	if !ok {
		return "-"
	}
	if prec == 0 {
		return group(strconv.FormatFloat(x, 'f', 0, 64))
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

// group puts thousands separators into a decimal integer.
func group(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
