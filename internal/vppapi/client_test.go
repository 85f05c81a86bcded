package vppapi

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.fd.io/govpp/adapter"
	"go.fd.io/govpp/adapter/mock"
	"go.fd.io/govpp/api"
	"go.fd.io/govpp/binapi/memclnt"
	"go.fd.io/govpp/codec"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	interfaces "github.com/vppstats/vppstats/internal/vppapi/binapi/interface"
	"github.com/vppstats/vppstats/internal/vppapi/binapi/interface_types"
)

// fakeVPP is govpp's mock adapter answering like VPP from a table of
// interfaces, counting the messages sent to it.
type fakeVPP struct {
	*mock.VppAdapter
	mu       sync.Mutex
	cb       adapter.MsgCallback
	ifs      map[uint32]*interfaces.SwInterfaceDetails
	missing  string // a message this "VPP" does not know (other CRC)
	connErr  error
	sent     atomic.Int64
	connects atomic.Int64
}

func newFakeVPP() *fakeVPP {
	f := &fakeVPP{VppAdapter: mock.NewVppAdapter(), ifs: map[uint32]*interfaces.SwInterfaceDetails{}}
	f.MockReplyHandler(f.reply)
	return f
}

func (f *fakeVPP) Connect() error {
	f.connects.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connErr
}

func (f *fakeVPP) SetMsgCallback(cb adapter.MsgCallback) {
	f.mu.Lock()
	f.cb = cb
	f.mu.Unlock()
	f.VppAdapter.SetMsgCallback(cb)
}

func (f *fakeVPP) SendMsg(ctx uint32, data []byte) error {
	f.sent.Add(1)
	return f.VppAdapter.SendMsg(ctx, data)
}

func (f *fakeVPP) GetMsgID(name, crc string) (uint16, error) {
	f.mu.Lock()
	missing := f.missing
	f.mu.Unlock()
	if name+"_"+crc == missing {
		return 0, errors.New("unknown message")
	}
	return f.VppAdapter.GetMsgID(name, crc)
}

func (f *fakeVPP) set(d *interfaces.SwInterfaceDetails) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ifs[uint32(d.SwIfIndex)] = d
}

// reply answers a request as VPP would.
func (f *fakeVPP) reply(req mock.MessageDTO) ([]byte, uint16, bool) {
	var msg api.Message
	name := req.MsgName
	if name == "" { // the mock's fixed IDs (dump, ping) are not in its own table
		name, _ = f.GetMsgNameByID(req.MsgID)
	}
	switch name {
	case "want_interface_events":
		msg = &interfaces.WantInterfaceEventsReply{}
	case "control_ping":
		msg = &memclnt.ControlPingReply{}
	case "sw_interface_dump":
		dump := &interfaces.SwInterfaceDump{}
		if err := codec.DefaultCodec.DecodeMsg(req.Data, dump); err != nil {
			panic(err)
		}
		f.mu.Lock()
		var out []api.Message
		for i, d := range f.ifs {
			if dump.SwIfIndex == ^interface_types.InterfaceIndex(0) || uint32(dump.SwIfIndex) == i {
				out = append(out, d)
			}
		}
		cb := f.cb
		f.mu.Unlock()
		if len(out) == 0 {
			msg = &memclnt.ControlPingReply{}
			break
		}
		for _, d := range out[:len(out)-1] {
			data, id := f.encode(req, d)
			cb(id, data)
		}
		msg = out[len(out)-1]
	default:
		return nil, 0, false
	}
	data, id := f.encode(req, msg)
	return data, id, true
}

func (f *fakeVPP) encode(req mock.MessageDTO, m api.Message) ([]byte, uint16) {
	id, err := f.VppAdapter.GetMsgID(m.GetMessageName(), m.GetCrcString())
	if err != nil {
		panic(err)
	}
	data, err := f.ReplyBytes(req, m)
	if err != nil {
		panic(err)
	}
	return data, id
}

// event sends a notification, as VPP does to want_interface_events clients.
func (f *fakeVPP) event(ev *interfaces.SwInterfaceEvent) {
	id, err := f.VppAdapter.GetMsgID(ev.GetMessageName(), ev.GetCrcString())
	if err != nil {
		panic(err)
	}
	data, err := codec.DefaultCodec.EncodeMsg(ev, id)
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	cb := f.cb
	f.mu.Unlock()
	cb(id, data)
}

const up = interface_types.IF_STATUS_API_FLAG_ADMIN_UP | interface_types.IF_STATUS_API_FLAG_LINK_UP

func loop(i uint32, name string, flags interface_types.IfStatusFlags) *interfaces.SwInterfaceDetails {
	return &interfaces.SwInterfaceDetails{
		SwIfIndex: interface_types.InterfaceIndex(i), SupSwIfIndex: i, InterfaceName: name,
		InterfaceDevType: "Loopback", Flags: flags, LinkMtu: 9000,
		L2Address: [6]byte{0xde, 0xad, 0, 0, 0, byte(i)},
	}
}

type harness struct {
	vpp    *fakeVPP
	socket atomic.Uint64 // identity of the "socket file"
	c      *Client
	logs   *observer.ObservedLogs
}

func start(t *testing.T, vpp *fakeVPP) *harness {
	t.Helper()
	h := &harness{vpp: vpp}
	h.socket.Store(1)
	core, logs := observer.New(zap.InfoLevel)
	h.logs = logs
	h.c = Start(Config{
		SocketPath:     "/nonexistent/api.sock",
		Logger:         zap.New(core),
		newAdapter:     func(string) adapter.VppAPI { return vpp },
		socketIdentity: func(string) uint64 { return h.socket.Load() },
		watch:          time.Millisecond,
	})
	t.Cleanup(h.c.Close)
	return h
}

// waitTable waits until the table satisfies ok (or fails after 10 s: a
// bound on a hang, not a timing assertion).
func (h *harness) waitTable(t *testing.T, what string, ok func(*Table) bool) *Table {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tb := h.c.Table()
		if ok(tb) {
			return tb
		}
		if time.Now().After(deadline) {
			t.Fatalf("table never showed %s; last: %+v", what, tb.All())
		}
		time.Sleep(time.Millisecond)
	}
}

// waitTicks lets the client's loop run n more socket checks.
func (h *harness) waitTicks(n int64) {
	end := h.c.watchTicks.Load() + n
	for h.c.watchTicks.Load() < end {
		time.Sleep(time.Millisecond)
	}
}

func TestDumpOnConnect(t *testing.T) {
	vpp := newFakeVPP()
	l0 := loop(1, "loop0", up)
	l0.LinkSpeed = 10_000_000 // kbit/s
	l0.Tag = "uplink"
	vpp.set(l0)
	sub := loop(2, "loop0.100", interface_types.IF_STATUS_API_FLAG_ADMIN_UP)
	sub.SupSwIfIndex, sub.SubID = 1, 100
	sub.L2Address = [6]byte{}
	vpp.set(sub)
	h := start(t, vpp)

	tb := h.waitTable(t, "two interfaces", func(tb *Table) bool { return tb.Len() == 2 })
	assert.True(t, tb.Connected)
	assert.Equal(t, []Interface{
		{Index: 1, Name: "loop0", DevType: "Loopback", MAC: "DE-AD-00-00-00-01", Tag: "uplink", AdminUp: true, LinkUp: true, SpeedBytes: 1_250_000_000, MTU: 9000},
		{Index: 2, Name: "loop0.100", DevType: "Loopback", AdminUp: true, MTU: 9000, IsSub: true, ParentIndex: 1, SubID: 100},
	}, tb.All())
	assert.Equal(t, "loop0", tb.ParentName(tb.All()[1]))
	assert.Empty(t, tb.ParentName(tb.All()[0]))
}

// TestNoRequestsInSteadyState is the call budget: after the dump on
// connect, reading the table (what every scrape does) and time passing send
// nothing to VPP; a state change costs one event and one dump of that
// interface.
func TestNoRequestsInSteadyState(t *testing.T) {
	vpp := newFakeVPP()
	vpp.set(loop(1, "loop0", up))
	vpp.set(loop(2, "loop1", up))
	h := start(t, vpp)
	h.waitTable(t, "the first dump", func(tb *Table) bool { return tb.Len() == 2 })
	h.waitTicks(2)
	afterConnect := vpp.sent.Load()
	// want_interface_events, and sw_interface_dump + control_ping.
	assert.Equal(t, int64(3), afterConnect)

	for range 1000 {
		_ = h.c.Table().All()
	}
	h.waitTicks(200)
	assert.Equal(t, afterConnect, vpp.sent.Load(), "requests sent in steady state")

	// loop1 goes down: the event updates the table and costs one dump of
	// loop1 (request + control_ping).
	vpp.set(loop(2, "loop1", 0))
	vpp.event(&interfaces.SwInterfaceEvent{SwIfIndex: 2})
	tb := h.waitTable(t, "loop1 down", func(tb *Table) bool { in, _ := tb.Lookup(2); return !in.AdminUp })
	in, _ := tb.Lookup(2)
	assert.False(t, in.LinkUp)
	h.waitTicks(2)
	assert.Equal(t, afterConnect+2, vpp.sent.Load())
}

func TestEventDeletesInterface(t *testing.T) {
	vpp := newFakeVPP()
	vpp.set(loop(1, "loop0", up))
	vpp.set(loop(2, "loop1", up))
	h := start(t, vpp)
	h.waitTable(t, "the first dump", func(tb *Table) bool { return tb.Len() == 2 })
	before := vpp.sent.Load()
	vpp.event(&interfaces.SwInterfaceEvent{SwIfIndex: 2, Deleted: true})
	tb := h.waitTable(t, "loop1 gone", func(tb *Table) bool { return tb.Len() == 1 })
	_, ok := tb.Lookup(2)
	assert.False(t, ok)
	h.waitTicks(2)
	assert.Equal(t, before, vpp.sent.Load(), "a deletion needs no request")
}

func TestEventForNewInterfaceDumpsIt(t *testing.T) {
	vpp := newFakeVPP()
	vpp.set(loop(1, "loop0", up))
	h := start(t, vpp)
	h.waitTable(t, "the first dump", func(tb *Table) bool { return tb.Len() == 1 })
	vpp.set(loop(7, "tap7", up))
	vpp.event(&interfaces.SwInterfaceEvent{SwIfIndex: 7, Flags: up})
	tb := h.waitTable(t, "tap7", func(tb *Table) bool { return tb.Len() == 2 })
	in, _ := tb.Lookup(7)
	assert.Equal(t, "tap7", in.Name)
}

func TestRefreshDumpsAll(t *testing.T) {
	vpp := newFakeVPP()
	vpp.set(loop(1, "loop0", up))
	h := start(t, vpp)
	h.waitTable(t, "the first dump", func(tb *Table) bool { return tb.Len() == 1 })
	l := loop(1, "loop0", up)
	l.Tag = "now tagged" // VPP sends no event for a tag
	vpp.set(l)
	vpp.set(loop(2, "loop1", 0))
	h.c.Refresh()
	tb := h.waitTable(t, "the refresh", func(tb *Table) bool { return tb.Len() == 2 })
	in, _ := tb.Lookup(1)
	assert.Equal(t, "now tagged", in.Tag)
}

func TestIncompatibleAPIGoesOnWithoutIdentity(t *testing.T) {
	vpp := newFakeVPP()
	vpp.set(loop(1, "loop0", up))
	vpp.missing = "sw_interface_details_6c221fc7"
	h := start(t, vpp)
	h.waitTicks(100)
	assert.False(t, h.c.Table().Connected)
	assert.Zero(t, h.c.Table().Len())
	assert.Equal(t, int64(1), vpp.connects.Load(), "an incompatible VPP is not asked again until it restarts")
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("does not match").Len())

	// A restarted (upgraded) VPP is tried again.
	vpp.mu.Lock()
	vpp.missing = ""
	vpp.mu.Unlock()
	h.socket.Store(2)
	h.waitTable(t, "identity after the restart", func(tb *Table) bool { return tb.Connected && tb.Len() == 1 })
}

func TestRefusingSocketRetriesAndLogsOnce(t *testing.T) {
	vpp := newFakeVPP()
	vpp.set(loop(1, "loop0", up))
	vpp.connErr = errors.New("connection refused")
	h := start(t, vpp)
	h.waitTicks(50)
	assert.False(t, h.c.Table().Connected)
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("VPP binary API unavailable").Len())

	// VPP comes up: a new socket file is tried at once.
	vpp.mu.Lock()
	vpp.connErr = nil
	vpp.mu.Unlock()
	h.socket.Store(3)
	h.waitTable(t, "the connection", func(tb *Table) bool { return tb.Connected && tb.Len() == 1 })
}

func TestRestartIsFollowed(t *testing.T) {
	vpp := newFakeVPP()
	vpp.set(loop(1, "loop0", up))
	h := start(t, vpp)
	first := h.waitTable(t, "the first dump", func(tb *Table) bool { return tb.Len() == 1 })

	// VPP restarts with other interfaces: a new socket file.
	vpp.mu.Lock()
	vpp.ifs = map[uint32]*interfaces.SwInterfaceDetails{}
	vpp.mu.Unlock()
	vpp.set(loop(1, "memif1/0", up))
	h.socket.Store(9)
	tb := h.waitTable(t, "the restarted VPP", func(tb *Table) bool {
		in, _ := tb.Lookup(1)
		return tb.Connected && in.Name == "memif1/0"
	})
	assert.Greater(t, tb.Generation, first.Generation)
	assert.Equal(t, int64(2), vpp.connects.Load())
}

// BenchmarkTableRead is what a scrape asks of the client: the current
// table. It reports the API messages sent per read (0: the table is kept
// up to date by events, not by requests).
func BenchmarkTableRead(b *testing.B) {
	vpp := newFakeVPP()
	for i := range uint32(2000) {
		vpp.set(loop(i, fmt.Sprintf("loop%d", i), up))
	}
	h := &harness{vpp: vpp}
	h.socket.Store(1)
	h.c = Start(Config{
		newAdapter:     func(string) adapter.VppAPI { return vpp },
		socketIdentity: func(string) uint64 { return h.socket.Load() },
	})
	defer h.c.Close()
	for h.c.Table().Len() < 2000 {
		time.Sleep(time.Millisecond)
	}
	before := vpp.sent.Load()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n += h.c.Table().Len()
	}
	b.ReportMetric(float64(vpp.sent.Load()-before)/float64(b.N), "api-msgs/op")
	if n == 0 {
		b.Fatal("empty table")
	}
}
