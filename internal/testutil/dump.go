package testutil

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Dump is VPP's own reading of a segment: the lines `vpp_get_stats dump`
// printed, and their values by stat name.
type Dump struct {
	Text     string                        // as printed, every line ending in '\n'
	Simple   map[string]map[Cell]uint64    // simple counters and symlinks to them
	Combined map[string]map[Cell][2]uint64 // combined: packets, bytes
	Scalars  map[string]float64            // scalars and gauges ("%.2f")
	Names    map[string]map[int]string     // name vectors, non-NULL slots
}

// Cell is one counter cell: the object index and the thread, as VPP
// prints them ("[index @ thread]").
type Cell struct{ Index, Thread int }

// The line formats of vpp_get_stats dump (src/vpp-api/client/stat_client.c
// via vpp_get_stats.c).
var (
	dumpCombined = regexp.MustCompile(`^\[(\d+) @ (\d+)\]: (\d+) packets, (\d+) bytes (/.*)$`)
	dumpSimple   = regexp.MustCompile(`^\[(\d+) @ (\d+)\]: (\d+) packets (/.*)$`)
	dumpName     = regexp.MustCompile(`^\[(\d+)\]: (\S*) (/.*)$`)
	dumpScalar   = regexp.MustCompile(`^(-?[0-9.]+(?:e[+-]?\d+)?) (/.*)$`)
)

// DumpPath is the path of VPP's dump of the captured segment seg
// ("x.seg.gz" → "x.dump.txt.gz").
func DumpPath(seg string) string {
	return strings.TrimSuffix(seg, ".seg.gz") + ".dump.txt.gz"
}

// ReadDump reads and parses a gzipped VPP dump. A line in no known format
// fails the test: the parser must not skip what it does not understand.
func ReadDump(tb testing.TB, path string) *Dump {
	tb.Helper()
	d, err := ParseDump(path)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// ParseDump is ReadDump returning its error.
func ParseDump(path string) (*Dump, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, &os.PathError{Op: "gunzip", Path: path, Err: err}
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, &os.PathError{Op: "gunzip", Path: path, Err: err}
	}
	d, err := ParseDumpText(string(raw))
	if err != nil {
		return nil, &os.PathError{Op: "parse", Path: path, Err: err}
	}
	return d, nil
}

// ParseDumpText parses the text of a dump (e.g. vpp_get_stats dump's output
// on a live VPP).
func ParseDumpText(text string) (*Dump, error) {
	d := &Dump{
		Text:     text,
		Simple:   map[string]map[Cell]uint64{},
		Combined: map[string]map[Cell][2]uint64{},
		Scalars:  map[string]float64{},
		Names:    map[string]map[int]string{},
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if err := d.parseLine(sc.Text()); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(d.Simple)+len(d.Combined) == 0 {
		return nil, errNoCounters
	}
	return d, nil
}

type dumpError string

func (e dumpError) Error() string { return string(e) }

const errNoCounters = dumpError("no counters: not a vpp_get_stats dump")

func (d *Dump) parseLine(l string) error {
	if m := dumpCombined.FindStringSubmatch(l); m != nil {
		c, err := cell(m[1], m[2])
		pk, err1 := strconv.ParseUint(m[3], 10, 64)
		by, err2 := strconv.ParseUint(m[4], 10, 64)
		if err := firstErr(err, err1, err2); err != nil {
			return err
		}
		put(d.Combined, m[5], c, [2]uint64{pk, by})
		return nil
	}
	if m := dumpSimple.FindStringSubmatch(l); m != nil {
		c, err := cell(m[1], m[2])
		v, err1 := strconv.ParseUint(m[3], 10, 64)
		if err := firstErr(err, err1); err != nil {
			return err
		}
		put(d.Simple, m[4], c, v)
		return nil
	}
	if m := dumpName.FindStringSubmatch(l); m != nil {
		i, err := strconv.Atoi(m[1])
		if err != nil {
			return err
		}
		put(d.Names, m[3], i, m[2])
		return nil
	}
	if m := dumpScalar.FindStringSubmatch(l); m != nil {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return err
		}
		d.Scalars[m[2]] = v
		return nil
	}
	return dumpError("not a vpp_get_stats dump line: " + strconv.Quote(l))
}

func cell(index, thread string) (Cell, error) {
	i, err := strconv.Atoi(index)
	t, err1 := strconv.Atoi(thread)
	return Cell{i, t}, firstErr(err, err1)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func put[K comparable, V any](m map[string]map[K]V, name string, k K, v V) {
	if m[name] == nil {
		m[name] = map[K]V{}
	}
	m[name][k] = v
}

// Lines returns the dump's lines, in VPP's order.
func (d *Dump) Lines() []string {
	return strings.Split(strings.TrimSuffix(d.Text, "\n"), "\n")
}

// SumSimple sums a simple counter over threads, by index.
func (d *Dump) SumSimple(name string) map[int]uint64 {
	out := map[int]uint64{}
	for c, v := range d.Simple[name] {
		out[c.Index] += v
	}
	return out
}

// SumCombined sums field 0 (packets) or 1 (bytes) of a combined counter
// over threads, by index.
func (d *Dump) SumCombined(name string, field int) map[int]uint64 {
	out := map[int]uint64{}
	for c, v := range d.Combined[name] {
		out[c.Index] += v[field]
	}
	return out
}

// SumThreads returns a counter's packets and bytes (0 for a simple
// counter) at index, summed over threads, and whether the dump has that
// index.
func (d *Dump) SumThreads(name string, index int) (packets, bytes uint64, ok bool) {
	for c, v := range d.Combined[name] {
		if c.Index == index {
			packets, bytes, ok = packets+v[0], bytes+v[1], true
		}
	}
	for c, v := range d.Simple[name] {
		if c.Index == index {
			packets, ok = packets+v, true
		}
	}
	return packets, bytes, ok
}

// HasCounter reports whether the dump has counter values under name.
func (d *Dump) HasCounter(name string) bool {
	return d.Simple[name] != nil || d.Combined[name] != nil
}
