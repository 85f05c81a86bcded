package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"strings"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

// What each VPP stat path means, in one table. What a snapshot copies
// (want), what the plan turns into metrics (buildPlan) and what the
// catch-all leaves to dedicated metrics (covered) are all read from it.
// Adding a VPP counter to an existing family is one row.
//
// Axes: the rows of every counter vector are VPP's threads (summed, or kept
// apart with per_thread); its columns are the objects of the row's family
// (interfaces, nodes, error counters), or threads for the per-worker
// gauges. A combined vector's cell has two fields, packets and bytes, which
// feed two metrics. Units and descriptions live with the metrics in
// metadata.yaml.

// shape is what an entry must be for a row to apply to it.
type shape uint8

const (
	shapeScalar   shape = iota // scalar or gauge: one u64
	shapeSimple                // simple counter vector [thread][column]
	shapeCombined              // combined counter vector [thread][column]{packets, bytes}
	shapeNames                 // name vector: names the columns of its family
	shapeLink                  // symlink to one column of a simple vector
	shapeAny                   // anything (views read through other rows)
)

// family says what the columns of a vector are.
type family uint8

const (
	famNone      family = iota
	famInterface        // sw_if_index, named by /if/names
	famNode             // graph node index, named by /sys/node/names
	famError            // column of /node/errors, named by the /err/<node>/<reason> links
	famThread           // thread index (row 0 only): the per-worker gauges
	famStat             // catch-all: anonymous indexes
)

// use says what the receiver does with the entry.
type use uint8

const (
	useMetric     use = iota // its values feed the row's metrics
	useBoot                  // /sys/boottime: start of every series, and vpp.uptime
	useClear                 // time of the last `clear runtime` (the catch-all still reports it)
	useNames                 // names the columns of the family (read from the directory)
	useBufferPool            // /buffer-pools/<pool>/<state>
	useHeap                  // /mem/<heap> vectors and their /mem/<heap>/<state> links
	useView                  // another view of vectors other rows read: skipped
)

// feed is one metric a row feeds, with the attributes that are constant for
// the row (direction, address class, protocol).
type feed struct {
	metric metadata.MetricID
	fixed  []attr
}

type attr struct{ key, val string }

// meaning is one row of the table.
type meaning struct {
	path   string // stat path; a trailing '/' makes the row apply to every path under it
	shape  shape
	cols   family
	use    use
	fields []feed // simple and scalar: one; combined: packets, then bytes
}

// covers says whether the catch-all must leave the row's entries alone.
func (m *meaning) covers() bool {
	return m.use != useClear
}

func one(id metadata.MetricID, fixed ...attr) []feed { return []feed{{id, fixed}} }

func pair(pkts, bytes metadata.MetricID, fixed ...attr) []feed {
	return []feed{{pkts, fixed}, {bytes, fixed}}
}

// Constant attributes, with the values mdatagen generated from the enums of
// metadata.yaml.
func rx() attr {
	return attr{"network.io.direction", metadata.AttributeNetworkIoDirectionReceive.String()}
}
func tx() attr {
	return attr{"network.io.direction", metadata.AttributeNetworkIoDirectionTransmit.String()}
}
func cast(c metadata.AttributeVppInterfaceCast) attr {
	return attr{"vpp.interface.cast", c.String()}
}
func proto(p metadata.AttributeVppProtocol) attr { return attr{"vpp.protocol", p.String()} }

const (
	pathBoottime       = "/sys/boottime"
	pathLastStatsClear = "/sys/last_stats_clear"
	pathNodeErrors     = "/node/errors"
	pathNodeCalls      = "/sys/node/calls"
)

var meanings = []meaning{
	// The receiver's own inputs.
	{path: pathBoottime, shape: shapeScalar, use: useBoot, fields: one(metadata.MetricVppUptime)},
	{path: pathLastStatsClear, shape: shapeScalar, use: useClear},

	// System gauges.
	{path: "/sys/vector_rate", shape: shapeScalar, fields: one(metadata.MetricVppVectorRate)},
	{path: "/sys/input_rate", shape: shapeScalar, fields: one(metadata.MetricVppInputRate)},
	{path: "/sys/num_worker_threads", shape: shapeScalar, fields: one(metadata.MetricVppWorkerCount)},
	{path: "/sys/vector_rate_per_worker", shape: shapeSimple, cols: famThread, fields: one(metadata.MetricVppWorkerVectorRate)},
	{path: "/sys/loops_per_worker", shape: shapeSimple, cols: famThread, fields: one(metadata.MetricVppWorkerLoopRate)},

	// Interfaces.
	{path: "/if/names", shape: shapeNames, cols: famInterface, use: useNames},
	{path: "/if/rx", shape: shapeCombined, cols: famInterface, fields: pair(metadata.MetricVppInterfacePackets, metadata.MetricVppInterfaceIo, rx())},
	{path: "/if/tx", shape: shapeCombined, cols: famInterface, fields: pair(metadata.MetricVppInterfacePackets, metadata.MetricVppInterfaceIo, tx())},
	{path: "/if/rx-unicast", shape: shapeCombined, cols: famInterface, fields: pair(metadata.MetricVppInterfaceCastPackets, metadata.MetricVppInterfaceCastIo, rx(), cast(metadata.AttributeVppInterfaceCastUnicast))},
	{path: "/if/rx-multicast", shape: shapeCombined, cols: famInterface, fields: pair(metadata.MetricVppInterfaceCastPackets, metadata.MetricVppInterfaceCastIo, rx(), cast(metadata.AttributeVppInterfaceCastMulticast))},
	{path: "/if/rx-broadcast", shape: shapeCombined, cols: famInterface, fields: pair(metadata.MetricVppInterfaceCastPackets, metadata.MetricVppInterfaceCastIo, rx(), cast(metadata.AttributeVppInterfaceCastBroadcast))},
	{path: "/if/tx-unicast", shape: shapeCombined, cols: famInterface, fields: pair(metadata.MetricVppInterfaceCastPackets, metadata.MetricVppInterfaceCastIo, tx(), cast(metadata.AttributeVppInterfaceCastUnicast))},
	{path: "/if/tx-multicast", shape: shapeCombined, cols: famInterface, fields: pair(metadata.MetricVppInterfaceCastPackets, metadata.MetricVppInterfaceCastIo, tx(), cast(metadata.AttributeVppInterfaceCastMulticast))},
	{path: "/if/tx-broadcast", shape: shapeCombined, cols: famInterface, fields: pair(metadata.MetricVppInterfaceCastPackets, metadata.MetricVppInterfaceCastIo, tx(), cast(metadata.AttributeVppInterfaceCastBroadcast))},
	{path: "/if/rx-error", shape: shapeSimple, cols: famInterface, fields: one(metadata.MetricVppInterfaceErrors, rx())},
	{path: "/if/tx-error", shape: shapeSimple, cols: famInterface, fields: one(metadata.MetricVppInterfaceErrors, tx())},
	{path: "/if/drops", shape: shapeSimple, cols: famInterface, fields: one(metadata.MetricVppInterfaceDrops)},
	{path: "/if/punt", shape: shapeSimple, cols: famInterface, fields: one(metadata.MetricVppInterfacePunts)},
	{path: "/if/rx-no-buf", shape: shapeSimple, cols: famInterface, fields: one(metadata.MetricVppInterfaceRxNoBuffer)},
	{path: "/if/rx-miss", shape: shapeSimple, cols: famInterface, fields: one(metadata.MetricVppInterfaceRxMissed)},
	{path: "/if/ip4", shape: shapeSimple, cols: famInterface, fields: one(metadata.MetricVppInterfaceProtocolPackets, proto(metadata.AttributeVppProtocolIP4))},
	{path: "/if/ip6", shape: shapeSimple, cols: famInterface, fields: one(metadata.MetricVppInterfaceProtocolPackets, proto(metadata.AttributeVppProtocolIP6))},
	{path: "/if/mpls", shape: shapeSimple, cols: famInterface, fields: one(metadata.MetricVppInterfaceProtocolPackets, proto(metadata.AttributeVppProtocolMpls))},
	{path: "/if/", shape: shapeAny, use: useView},         // other interface vectors: not reported
	{path: "/interfaces/", shape: shapeAny, use: useView}, // per-interface symlinks into /if/*

	// Graph nodes (VPP keeps them with `statseg { per-node-counters on }`).
	{path: "/sys/node/names", shape: shapeNames, cols: famNode, use: useNames},
	{path: "/sys/node/clocks", shape: shapeSimple, cols: famNode, fields: one(metadata.MetricVppNodeClocks)},
	{path: "/sys/node/vectors", shape: shapeSimple, cols: famNode, fields: one(metadata.MetricVppNodeVectors)},
	{path: pathNodeCalls, shape: shapeSimple, cols: famNode, fields: one(metadata.MetricVppNodeCalls)},
	{path: "/sys/node/suspends", shape: shapeSimple, cols: famNode, fields: one(metadata.MetricVppNodeSuspends)},
	{path: "/sys/node/", shape: shapeAny, use: useView},
	{path: "/nodes/", shape: shapeAny, use: useView}, // per-node symlinks into /sys/node/*

	// Error counters: one vector, its columns named by symlinks.
	{path: pathNodeErrors, shape: shapeSimple, cols: famError, fields: one(metadata.MetricVppNodeErrors)},
	{path: "/err/", shape: shapeLink, cols: famError, use: useNames},

	// Buffer pools and heaps.
	{path: "/buffer-pools/", shape: shapeScalar, use: useBufferPool, fields: one(metadata.MetricVppBufferPoolBuffers)},
	{path: "/mem/", shape: shapeAny, use: useHeap, fields: []feed{{metric: metadata.MetricVppMemoryHeapSize}, {metric: metadata.MetricVppMemoryHeapUsage}}},
}

// heapTotal is the /mem/<heap>/<state> link that feeds vpp.memory.heap.size;
// the other states are metadata.yaml's vpp.memory.heap.state enum, as the
// /buffer-pools/<pool>/<state> states are vpp.buffer_pool.state's.
const heapTotal = "total"

var (
	exactMeanings  = map[string]*meaning{}
	prefixMeanings []*meaning // longest first
)

func init() {
	for i := range meanings {
		m := &meanings[i]
		if strings.HasSuffix(m.path, "/") {
			prefixMeanings = append(prefixMeanings, m)
		} else {
			exactMeanings[m.path] = m
		}
	}
	// Longest prefix first: /sys/node/ before a shorter one.
	for i := 1; i < len(prefixMeanings); i++ {
		for j := i; j > 0 && len(prefixMeanings[j].path) > len(prefixMeanings[j-1].path); j-- {
			prefixMeanings[j], prefixMeanings[j-1] = prefixMeanings[j-1], prefixMeanings[j]
		}
	}
}

// meaningOf returns the row for a stat path, nil when no row applies (the
// catch-all's).
func meaningOf(path string) *meaning {
	if m, ok := exactMeanings[path]; ok {
		return m
	}
	for _, m := range prefixMeanings {
		if strings.HasPrefix(path, m.path) {
			return m
		}
	}
	return nil
}

// fits says whether entry e has the shape the row expects.
func (m *meaning) fits(e *statseg.Entry) bool {
	switch m.shape {
	case shapeScalar:
		return isScalar(e.Type)
	case shapeSimple:
		return e.Type == statseg.TypeCounterSimple
	case shapeCombined:
		return e.Type == statseg.TypeCounterCombined
	case shapeNames:
		return e.Type == statseg.TypeNameVector
	case shapeLink:
		return e.Type == statseg.TypeSymlink
	}
	return true
}

func isScalar(t statseg.Type) bool { return t == statseg.TypeScalar || t == statseg.TypeGauge }

func isCounter(t statseg.Type) bool {
	return t == statseg.TypeCounterSimple || t == statseg.TypeCounterCombined
}

// covered reports whether a dedicated metric (or the receiver itself) deals
// with the path, which keeps it out of the catch-all.
func covered(path string) bool {
	m := meaningOf(path)
	return m != nil && m.covers()
}
