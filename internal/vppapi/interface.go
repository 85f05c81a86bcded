package vppapi

import (
	"fmt"
	"sort"
	"strings"

	interfaces "github.com/vppstats/vppstats/internal/vppapi/binapi/interface"
	"github.com/vppstats/vppstats/internal/vppapi/binapi/interface_types"
)

// Interface is what VPP's binary API says about one software interface.
type Interface struct {
	Index uint32
	Name  string
	// DevType is VPP's device type (driver) of the hardware interface
	// underneath: "Loopback", "virtio", "memif", "dpdk", ...
	DevType string
	// MAC is the L2 address in IEEE RA form (00-90-F5-E9-7B-36), empty when
	// the interface has none.
	MAC     string
	Tag     string
	AdminUp bool
	LinkUp  bool
	// SpeedBytes is the link speed in bytes per second, 0 when VPP reports
	// none.
	SpeedBytes uint64
	// MTU is the link MTU in bytes (0 when VPP reports none).
	MTU uint32
	// Sub-interfaces: the parent's index and the sub-interface id.
	IsSub       bool
	ParentIndex uint32
	SubID       uint32
}

// unknownSpeed is what VPP reports for a link speed it does not know.
const unknownSpeed = ^uint32(0)

func fromDetails(d *interfaces.SwInterfaceDetails) Interface {
	in := Interface{
		Index:   uint32(d.SwIfIndex),
		Name:    d.InterfaceName,
		DevType: d.InterfaceDevType,
		Tag:     d.Tag,
		MTU:     uint32(d.LinkMtu),
		IsSub:   d.SupSwIfIndex != uint32(d.SwIfIndex),
	}
	in.setFlags(d.Flags)
	if d.LinkSpeed != 0 && d.LinkSpeed != unknownSpeed {
		in.SpeedBytes = uint64(d.LinkSpeed) * 1000 / 8 // VPP reports kbit/s
	}
	if in.IsSub {
		in.ParentIndex, in.SubID = d.SupSwIfIndex, d.SubID
	}
	if d.L2Address != ([6]byte{}) {
		in.MAC = formatMAC(d.L2Address)
	}
	return in
}

func (in *Interface) setFlags(f interface_types.IfStatusFlags) {
	in.AdminUp = f&interface_types.IF_STATUS_API_FLAG_ADMIN_UP != 0
	in.LinkUp = f&interface_types.IF_STATUS_API_FLAG_LINK_UP != 0
}

// formatMAC writes a MAC as OpenTelemetry's hw.network.physical_address
// wants it: uppercase hexadecimal pairs joined by dashes.
func formatMAC(m [6]byte) string {
	var b strings.Builder
	for i, x := range m {
		if i > 0 {
			b.WriteByte('-')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// Table is an immutable snapshot of VPP's interfaces. The zero Table (and a
// nil *Table) is empty.
type Table struct {
	// Connected is false while VPP's API is unavailable or incompatible.
	Connected bool
	// Generation grows with every change of the table.
	Generation uint64
	byIndex    map[uint32]Interface
	sorted     []Interface
}

// NewTable makes a table of ifs (for other sources of interfaces, and
// tests).
func NewTable(connected bool, ifs ...Interface) *Table {
	m := make(map[uint32]Interface, len(ifs))
	for _, in := range ifs {
		m[in.Index] = in
	}
	return newTable(1, connected, m)
}

func newTable(gen uint64, connected bool, m map[uint32]Interface) *Table {
	t := &Table{Connected: connected, Generation: gen, byIndex: m, sorted: make([]Interface, 0, len(m))}
	for _, in := range m {
		t.sorted = append(t.sorted, in)
	}
	sort.Slice(t.sorted, func(i, j int) bool { return t.sorted[i].Index < t.sorted[j].Index })
	return t
}

// Len is the number of interfaces.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.sorted)
}

// All returns the interfaces by ascending index. The slice is shared: do
// not modify it.
func (t *Table) All() []Interface {
	if t == nil {
		return nil
	}
	return t.sorted
}

// Lookup returns the interface with sw_if_index i.
func (t *Table) Lookup(i uint32) (Interface, bool) {
	if t == nil {
		return Interface{}, false
	}
	in, ok := t.byIndex[i]
	return in, ok
}

// ParentName is the name of a sub-interface's parent ("" when in is not a
// sub-interface or its parent is unknown).
func (t *Table) ParentName(in Interface) string {
	if !in.IsSub {
		return ""
	}
	p, _ := t.Lookup(in.ParentIndex)
	return p.Name
}
