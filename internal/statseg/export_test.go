package statseg

// CopyFloor copies into dst exactly the counter bytes that s's last read
// copied, with nothing else: no locking, no bounds checks, no per-row
// bookkeeping. It is the physical floor a read is measured against.
func CopyFloor(r *Reader, s *Snapshot, dst []byte) int {
	n := 0
	for _, i := range s.Wanted {
		e := &s.Dir.Entries[i]
		elem := counterElemSize
		if e.DataType == TypeCounterCombined {
			elem = combinedSize
		}
		rows, col := s.Dir.source(e)
		for _, row := range rows {
			if col >= 0 && row.n > 0 {
				row = span{row.off + col*elem, 1}
			}
			n += copy(dst[n:], r.seg.data[row.off:row.off+row.n*elem])
		}
	}
	return n
}
