package promtextexporter

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAppendValueMatchesStrconv checks the integer fast path against
// strconv's 'g' formatting (what expfmt writes) on powers of ten, their
// neighbours, the 2^53 edge and random integers of every magnitude.
func TestAppendValueMatchesStrconv(t *testing.T) {
	vals := []float64{1 << 53, 1<<53 - 1, -(1<<53 - 1), 1 << 60, 0.5, -2.25, 1e21, 123456789.5}
	for p := 0.0; p <= 16; p++ {
		x := math.Pow(10, p)
		vals = append(vals, x, x-1, x+1, -x, 7*x, 1234567*x)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		vals = append(vals, float64(r.Int64N(1<<53)>>r.IntN(53)))
	}
	for _, v := range vals {
		want := string(strconv.AppendFloat(nil, v, 'g', -1, 64))
		switch v {
		case 0:
			want = "0"
		case 1:
			want = "1"
		case -1:
			want = "-1"
		}
		require.Equal(t, want, string(appendValue(nil, v)), "value %v", v)
	}
}
