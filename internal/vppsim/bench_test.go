package vppsim

import (
	"fmt"
	"testing"
)

// BenchmarkNew builds the benchmark profiles' simulations with 8 workers
// at 1,000, 10,000 and 50,000 interfaces. The build is linear in
// interfaces when µs/interface stays flat across the sizes.
func BenchmarkNew(b *testing.B) {
	for _, ifs := range []int{1000, 10000, 50000} {
		b.Run(fmt.Sprintf("interfaces=%d", ifs), func(b *testing.B) {
			for range b.N {
				s, err := New(Options{Interfaces: ifs, Threads: 8, Nodes: 1000, Errors: 3000, SegmentSize: segmentSize(ifs)})
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*ifs), "µs/interface")
		})
	}
}
