package promtextexporter

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// A labelPair is one label of a series: a fixed string (scope, job,
// resource, const labels) or a point attribute's value, rendered straight
// into the line without an intermediate string.
type labelPair struct {
	name  string
	str   string
	val   pcommon.Value
	isVal bool
}

func (p *labelPair) value() string {
	if p.isVal {
		return p.val.AsString()
	}
	return p.str
}

func (p *labelPair) appendValue(dst []byte) []byte {
	if !p.isVal {
		return appendLabelValue(dst, p.str)
	}
	switch p.val.Type() {
	case pcommon.ValueTypeStr:
		return appendLabelValue(dst, p.val.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, p.val.Int(), 10)
	}
	return appendLabelValue(dst, p.val.AsString())
}

// sortDedup sorts pairs by name (insertion sort: a series has a handful of
// labels) and keeps the last of pairs with equal names, so a later source
// (resource over point attribute) wins, as the contrib exporter's
// resource_to_telemetry_conversion overwrites attributes.
func sortDedup(ps []labelPair) []labelPair {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].name < ps[j-1].name; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	out := ps[:0]
	for i := range ps {
		if i+1 < len(ps) && ps[i+1].name == ps[i].name {
			continue
		}
		out = append(out, ps[i])
	}
	return out
}

// appendLabels renders {a="x",b="y"} (nothing without labels) from two
// sorted, deduplicated pair lists, base winning over point on equal names.
func appendLabels(dst []byte, point, base []labelPair) []byte {
	if len(point)+len(base) == 0 {
		return dst
	}
	dst = append(dst, '{')
	first := true
	mergeLabels(point, base, func(p *labelPair) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, p.name...)
		dst = append(dst, '=', '"')
		dst = p.appendValue(dst)
		dst = append(dst, '"')
	})
	return append(dst, '}')
}

// mergeLabels calls fn for each label of two sorted, deduplicated pair
// lists in name order, base winning over point on equal names: the one
// order both the text lines and the dto labels of a series follow.
func mergeLabels(point, base []labelPair, fn func(*labelPair)) {
	i, j := 0, 0
	for i < len(point) || j < len(base) {
		switch {
		case j == len(base) || (i < len(point) && point[i].name < base[j].name):
			fn(&point[i])
			i++
		case i == len(point) || base[j].name < point[i].name:
			fn(&base[j])
			j++
		default: // equal names: base wins
			fn(&base[j])
			i++
			j++
		}
	}
}
