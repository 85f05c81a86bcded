package promtextexporter

import (
	"math"
	"strconv"
	"strings"
)

// The text format's escaping (exposition format 0.0.4): label values escape
// backslash, double quote and newline; HELP text escapes backslash and newline.

func appendLabelValue(dst []byte, v string) []byte {
	i := 0
	for i < len(v) && v[i] != '\\' && v[i] != '"' && v[i] != '\n' {
		i++
	}
	dst = append(dst, v[:i]...)
	for ; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '"':
			dst = append(dst, '\\', '"')
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func appendHelp(dst []byte, v string) []byte {
	if !strings.ContainsAny(v, "\\\n") {
		return append(dst, v...)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendValue formats a sample value as expfmt does.
func appendValue(dst []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(dst, '1')
	case f == 0:
		return append(dst, '0')
	case f == -1:
		return append(dst, '-', '1')
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, +1):
		return append(dst, "+Inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-Inf"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return appendIntegral(dst, int64(f))
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// appendIntegral formats an integer below 2^53 in magnitude exactly as
// strconv's 'g' with the shortest precision does, without its float
// machinery: counters are such integers, and formatting them is most of a
// /metrics request after the copying. Below 2^53 every integer is a float64,
// so the shortest digits are the integer's without trailing zeros, and 'g'
// switches to the exponent form from 1e+06 on.
func appendIntegral(dst []byte, n int64) []byte {
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	}
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], uint64(n), 10)
	exp := len(digits) - 1
	if exp < 6 {
		return append(dst, digits...)
	}
	for len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	dst = append(dst, digits[0])
	if len(digits) > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'e', '+')
	if exp < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(exp), 10)
}

// familyHeader is the HELP and TYPE lines of a family. HELP is written even
// when empty, as client_golang does.
func familyHeader(name, help string, k kind) []byte {
	b := append([]byte("# HELP "), name...)
	b = append(b, ' ')
	b = appendHelp(b, help)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, kindText[k]...)
	return append(b, '\n')
}
