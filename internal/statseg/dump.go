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
			line = strconv.AppendFloat(line[:0], AsFloat(v.Scalar), 'f', 2, 64)
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
				for k, c := range bins {
					line = appendIndex(line[:0], k, t)
					line = strconv.AppendUint(line, c, 10)
					line = append(line, ' ')
					line = appendName(line, e.Name)
					bw.Write(line)
				}
			}
		}
	}
	return bw.Flush()
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
