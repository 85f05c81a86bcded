package statseg

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
)

// Match reports whether name matches any of patterns (all names when there
// are none), like the regex arguments of vpp_get_stats.
func Match(patterns []*regexp.Regexp, name string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p.MatchString(name) {
			return true
		}
	}
	return false
}

// WriteDump prints the wanted entries of s in the line format of VPP's
// `vpp_get_stats dump`, in directory order, so that its output can be
// compared with VPP's own line for line.
func WriteDump(w io.Writer, s *Snapshot) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	for _, i := range s.Wanted {
		e, v := &s.Dir.Entries[i], &s.Values[i]
		switch e.DataType {
		case TypeScalar, TypeGauge:
			line = strconv.AppendFloat(line[:0], float64(v.Scalar), 'f', 2, 64) // stat_client assigns the u64 to a double
			line = append(line, ' ')
			line = appendName(line, e.Name)
			bw.Write(line)
		case TypeCounterSimple:
			for t, row := range v.Simple {
				for k, c := range row {
					line = appendIndex(line[:0], k, t)
					line = strconv.AppendUint(line, c, 10)
					line = append(line, " packets "...)
					line = appendName(line, e.Name)
					bw.Write(line)
				}
			}
		case TypeCounterCombined:
			for t, row := range v.Combined {
				for k, c := range row {
					line = appendIndex(line[:0], k, t)
					line = strconv.AppendUint(line, c.Packets, 10)
					line = append(line, " packets, "...)
					line = strconv.AppendUint(line, c.Bytes, 10)
					line = append(line, " bytes "...)
					line = appendName(line, e.Name)
					bw.Write(line)
				}
			}
		case TypeNameVector:
			// VPP's reader prints a symlink to a name vector as the whole vector.
			for k, name := range e.Names {
				if e.NullNames != nil && e.NullNames[k] {
					continue
				}
				line = append(line[:0], '[')
				line = strconv.AppendInt(line, int64(k), 10)
				line = append(line, "]: "...)
				line = append(line, name...)
				line = append(line, ' ')
				line = appendName(line, e.Name)
				bw.Write(line)
			}
		case TypeHistogramLog2:
			for t, bins := range v.Histogram {
				line = appendHistogram(line[:0], e.Name, t, bins)
				bw.Write(line)
			}
		}
	}
	return bw.Flush()
}

// appendHistogram appends a thread's log2 histogram as vpp_get_stats prints
// it: bins[0] holds min_exp (a u32); bins[j] counts values v with
// floor(log2 v) = min_exp+j-1, labelled with that lower bound. As in
// vpp_get_stats.c the bound is 1<<(min_exp+j-1) in u64 arithmetic, whose
// shift count x86 takes modulo 64, and sum wraps.
func appendHistogram(b []byte, name string, thread int, bins []uint64) []byte {
	if len(bins) < 2 {
		return b // VPP skips threads without bins
	}
	b = append(b, "Histogram "...)
	b = append(b, name...)
	b = append(b, " (thread "...)
	b = strconv.AppendInt(b, int64(thread), 10)
	b = append(b, "):\n"...)
	minExp := uint32(bins[0])
	var cumulative, sum uint64
	for j := 1; j < len(bins); j++ {
		bound := uint64(1) << ((minExp + uint32(j) - 1) & 63)
		cumulative += bins[j]
		sum += bins[j] * bound
		b = append(b, "  <= "...)
		b = strconv.AppendUint(b, bound, 10)
		b = append(b, ": "...)
		b = strconv.AppendUint(b, bins[j], 10)
		b = append(b, " (cumulative: "...)
		b = strconv.AppendUint(b, cumulative, 10)
		b = append(b, ")\n"...)
	}
	b = append(b, "  +Inf: "...)
	b = strconv.AppendUint(b, cumulative, 10)
	b = append(b, " (total count: "...)
	b = strconv.AppendUint(b, cumulative, 10)
	b = append(b, ", sum: "...)
	b = strconv.AppendUint(b, sum, 10)
	return append(b, ")\n"...)
}

// appendIndex appends "[k @ t]: ".
func appendIndex(b []byte, k, t int) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, " @ "...)
	b = strconv.AppendInt(b, int64(t), 10)
	return append(b, "]: "...)
}

func appendName(b []byte, name string) []byte {
	b = append(b, name...)
	return append(b, '\n')
}
