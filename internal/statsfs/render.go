package statsfs

import (
	"strconv"

	"github.com/vppstats/vppstats/internal/statseg"
)

// render formats the value of entry e. labels name the columns of a vector
// (nil when there are none). The formats are described in
// docs/vppstatsfs.md.
func render(e *statseg.Entry, v *statseg.Value, labels []string) []byte {
	symlink := e.Type == statseg.TypeSymlink
	switch e.DataType {
	case statseg.TypeScalar, statseg.TypeGauge:
		return append(strconv.AppendUint(nil, v.Scalar, 10), '\n')
	case statseg.TypeNameVector:
		return renderNames(e)
	case statseg.TypeCounterSimple:
		if symlink {
			return renderColumn(v.Simple)
		}
		return renderSimple(v.Simple, labels)
	case statseg.TypeCounterCombined:
		if symlink {
			return renderCombinedColumn(v.Combined)
		}
		return renderCombined(v.Combined, labels)
	case statseg.TypeHistogramLog2:
		return renderHistogram(v.Histogram)
	}
	return []byte("# " + e.DataType.String() + ": not decoded by vppstatsfs\n")
}

// renderNames prints "index name" lines, skipping NULL slots as VPP does.
func renderNames(e *statseg.Entry) []byte {
	b := []byte("# index name\n")
	for k, n := range e.Names {
		if e.NullNames != nil && e.NullNames[k] {
			continue
		}
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, ' ')
		b = append(b, escapeText(n)...)
		b = append(b, '\n')
	}
	return b
}

// width is the number of indexes of a [thread][index] vector: its longest row.
func width[T any](rows [][]T) int {
	n := 0
	for _, r := range rows {
		n = max(n, len(r))
	}
	return n
}

// threadHeader appends " thread0<suffix> thread1<suffix> ..." for each suffix.
func threadHeader(b []byte, threads int, suffixes ...string) []byte {
	for t := range threads {
		for _, s := range suffixes {
			b = append(b, " thread"...)
			b = strconv.AppendInt(b, int64(t), 10)
			b = append(b, s...)
		}
	}
	return b
}

// appendLabel ends a vector line with the column's name, if the vector has
// names at all ("-" for an index without one).
func appendLabel(b []byte, labels []string, k int) []byte {
	if labels == nil {
		return append(b, '\n')
	}
	l := ""
	if k < len(labels) {
		l = labels[k]
	}
	if l == "" {
		l = "-"
	}
	b = append(b, ' ')
	b = append(b, escapeText(l)...)
	return append(b, '\n')
}

// renderSimple prints a simple counter vector: a header, then one line per
// index: index, the value of each thread, the total, and the name.
func renderSimple(rows [][]uint64, labels []string) []byte {
	b := threadHeader([]byte("# index"), len(rows), "")
	b = append(b, " total"...)
	if labels != nil {
		b = append(b, " name"...)
	}
	b = append(b, '\n')
	for k := range width(rows) {
		b = strconv.AppendInt(b, int64(k), 10)
		var total uint64
		b, total = appendThreadCells(b, rows, k)
		b = append(b, ' ')
		b = strconv.AppendUint(b, total, 10)
		b = appendLabel(b, labels, k)
	}
	return b
}

// appendThreadCells appends " v" for index k of every thread row ("-" for a
// row too short to have it) and returns their total.
func appendThreadCells(b []byte, rows [][]uint64, k int) ([]byte, uint64) {
	var total uint64
	for _, r := range rows {
		b = append(b, ' ')
		if k >= len(r) {
			b = append(b, '-')
			continue
		}
		b = strconv.AppendUint(b, r[k], 10)
		total += r[k]
	}
	return b, total
}

// renderCombined prints a combined counter vector like renderSimple, with a
// packets and a bytes column for each thread and for the total.
func renderCombined(rows [][]statseg.Combined, labels []string) []byte {
	b := threadHeader([]byte("# index"), len(rows), ".packets", ".bytes")
	b = append(b, " total.packets total.bytes"...)
	if labels != nil {
		b = append(b, " name"...)
	}
	b = append(b, '\n')
	for k := range width(rows) {
		b = strconv.AppendInt(b, int64(k), 10)
		var total statseg.Combined
		for _, r := range rows {
			if k >= len(r) {
				b = append(b, " - -"...)
				continue
			}
			b = appendPair(b, r[k])
			total.Packets += r[k].Packets
			total.Bytes += r[k].Bytes
		}
		b = appendPair(b, total)
		b = appendLabel(b, labels, k)
	}
	return b
}

func appendPair(b []byte, c statseg.Combined) []byte {
	b = append(b, ' ')
	b = strconv.AppendUint(b, c.Packets, 10)
	b = append(b, ' ')
	return strconv.AppendUint(b, c.Bytes, 10)
}

// renderColumn prints the one column a symlink to a simple counter vector
// shows: one line per thread, then the total.
func renderColumn(rows [][]uint64) []byte {
	b := []byte("# thread value\n")
	var total uint64
	for t, r := range rows {
		for _, c := range r {
			b = strconv.AppendInt(b, int64(t), 10)
			b = append(b, ' ')
			b = strconv.AppendUint(b, c, 10)
			b = append(b, '\n')
			total += c
		}
	}
	b = append(b, "total "...)
	b = strconv.AppendUint(b, total, 10)
	return append(b, '\n')
}

// renderCombinedColumn is renderColumn for combined counters.
func renderCombinedColumn(rows [][]statseg.Combined) []byte {
	b := []byte("# thread packets bytes\n")
	var total statseg.Combined
	for t, r := range rows {
		for _, c := range r {
			b = strconv.AppendInt(b, int64(t), 10)
			b = appendPair(b, c)
			b = append(b, '\n')
			total.Packets += c.Packets
			total.Bytes += c.Bytes
		}
	}
	b = append(b, "total"...)
	b = appendPair(b, total)
	return append(b, '\n')
}

// renderHistogram prints the raw log2 bins as VPP stores them, one line per
// bin: bin 0 is each thread's min_exp (its total is "-"), bin j > 0 counts
// the values v with floor(log2 v) = min_exp+j-1.
func renderHistogram(rows [][]uint64) []byte {
	b := threadHeader([]byte("# bin"), len(rows), "")
	b = append(b, " total\n"...)
	for k := range width(rows) {
		b = strconv.AppendInt(b, int64(k), 10)
		var total uint64
		b, total = appendThreadCells(b, rows, k)
		if k == 0 {
			b = append(b, " -\n"...)
			continue
		}
		b = append(b, ' ')
		b = strconv.AppendUint(b, total, 10)
		b = append(b, '\n')
	}
	return b
}
