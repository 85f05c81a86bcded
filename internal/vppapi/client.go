package vppapi

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.fd.io/govpp/adapter"
	"go.fd.io/govpp/adapter/socketclient"
	"go.fd.io/govpp/api"
	"go.fd.io/govpp/core"
	"go.uber.org/zap"

	interfaces "github.com/vppstats/vppstats/internal/vppapi/binapi/interface"
	"github.com/vppstats/vppstats/internal/vppapi/binapi/interface_types"
)

// DefaultSocketPath is where VPP's socksvr listens by default.
const DefaultSocketPath = socketclient.DefaultSocketName

const (
	defaultRequestTimeout = 5 * time.Second
	// watchInterval is how often the socket file is checked (a stat, no
	// API message) to notice VPP restarts and a socket that appears.
	watchInterval = 2 * time.Second
	minBackoff    = time.Second
	maxBackoff    = 30 * time.Second
	// Events for more interfaces than this at once are answered with one
	// full dump instead of one dump per interface.
	maxSingleDumps = 16
	eventBuffer    = 4096
)

// Config configures a Client.
type Config struct {
	// SocketPath is VPP's API socket (socksvr), default DefaultSocketPath.
	SocketPath string
	// RequestTimeout bounds each request (default 5 s).
	RequestTimeout time.Duration
	Logger         *zap.Logger

	// For tests: the adapter to VPP (default govpp's socket client) and
	// the identity of the socket file (default socketIdentity).
	newAdapter     func(path string) adapter.VppAPI
	socketIdentity func(path string) uint64
	watch          time.Duration
}

// messages are the ones this client uses; their CRCs must match VPP's.
var messages = []api.Message{
	(*interfaces.SwInterfaceDump)(nil),
	(*interfaces.SwInterfaceDetails)(nil),
	(*interfaces.WantInterfaceEvents)(nil),
	(*interfaces.WantInterfaceEventsReply)(nil),
	(*interfaces.SwInterfaceEvent)(nil),
}

// Client follows VPP's interfaces through the binary API. Create it with
// Start; stop it with Close.
type Client struct {
	cfg     Config
	log     *zap.Logger
	table   atomic.Pointer[Table]
	refresh chan struct{}
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
	// watchTicks counts socket checks (tests: time passing in steady state).
	watchTicks atomic.Int64

	// Owned by the run goroutine.
	conn        *core.Connection
	ch          api.Channel
	events      chan api.Message
	sub         api.SubscriptionCtx
	connectedID uint64 // socket identity of the current connection
	failedID    uint64 // socket identity at the last failure
	badID       uint64 // socket identity of an incompatible VPP
	backoff     time.Duration
	retryAt     time.Time
	lastLog     string
	ifs         map[uint32]Interface
	gen         uint64
}

// Start creates a client and starts following VPP in the background. It
// never blocks: the first table may come a moment later.
func Start(cfg Config) *Client {
	if cfg.SocketPath == "" {
		cfg.SocketPath = DefaultSocketPath
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = defaultRequestTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.newAdapter == nil {
		cfg.newAdapter = func(path string) adapter.VppAPI {
			c := socketclient.NewVppClient(path)
			c.SetClientName("vppstats")
			return c
		}
	}
	if cfg.watch <= 0 {
		cfg.watch = watchInterval
	}
	if cfg.socketIdentity == nil {
		cfg.socketIdentity = socketIdentity
	}
	c := &Client{
		cfg:     cfg,
		log:     cfg.Logger.With(zap.String("api_socket_path", cfg.SocketPath)),
		refresh: make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	c.table.Store(&Table{})
	go c.run()
	return c
}

// Table returns the current snapshot of VPP's interfaces; never nil.
func (c *Client) Table() *Table { return c.table.Load() }

// Refresh asks for a full dump of the interfaces (and a reconnection if
// VPP went away). It returns at once; the new table follows.
func (c *Client) Refresh() {
	select {
	case c.refresh <- struct{}{}:
	default: // one is already pending
	}
}

// Close stops the client and disconnects from VPP.
func (c *Client) Close() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}

func (c *Client) run() {
	defer close(c.done)
	defer c.disconnect()
	watch := time.NewTicker(c.cfg.watch)
	defer watch.Stop()
	c.tryConnect(true)
	for {
		select {
		case <-c.quit:
			return
		case ev := <-c.events:
			c.onEvents(ev)
		case <-c.refresh:
			if c.conn == nil || c.socketChanged() {
				c.reconnect(true)
			} else {
				c.dumpAll()
			}
		case <-watch.C:
			c.watchTicks.Add(1)
			switch {
			case c.conn != nil && c.socketChanged():
				c.log.Info("VPP API socket replaced or removed (VPP restarted?); reconnecting")
				c.reconnect(true)
			case c.conn == nil:
				c.tryConnect(false)
			}
		}
	}
}

func (c *Client) socketChanged() bool {
	return c.cfg.socketIdentity(c.cfg.SocketPath) != c.connectedID
}

// reconnect drops the connection (and the table: indexes of a restarted
// VPP mean other interfaces) and connects again.
func (c *Client) reconnect(now bool) {
	c.disconnect()
	c.publish(false, map[uint32]Interface{})
	c.tryConnect(now)
}

// tryConnect connects unless backing off (now skips the backoff). A socket
// that is still the one that failed, or an incompatible VPP, waits for the
// socket file to change.
func (c *Client) tryConnect(now bool) {
	id := c.cfg.socketIdentity(c.cfg.SocketPath)
	if id != 0 && id == c.badID {
		return
	}
	if !now && time.Now().Before(c.retryAt) && (id == 0 || id == c.failedID) {
		return
	}
	if err := c.connect(id); err != nil {
		c.disconnect()
		c.failedID = id
		c.backoff = min(max(2*c.backoff, minBackoff), maxBackoff)
		c.retryAt = time.Now().Add(c.backoff)
		if errors.Is(err, errIncompatible) {
			return // logged once by connect; retried when the socket changes
		}
		c.logOnce(err.Error(), "VPP binary API unavailable; interface state and identity metrics are off until it answers (counters are not affected)", zap.Error(err))
		return
	}
	c.backoff, c.retryAt, c.lastLog = 0, time.Time{}, ""
}

// errIncompatible marks a VPP whose API differs from the generated one.
var errIncompatible = errors.New("incompatible VPP binary API")

func (c *Client) connect(id uint64) error {
	conn, err := core.Connect(c.cfg.newAdapter(c.cfg.SocketPath))
	if err != nil {
		return fmt.Errorf("connecting to VPP's API socket %s: %w (is `socksvr { socket-name ... }` in VPP's startup.conf, and may this process open it?)", c.cfg.SocketPath, err)
	}
	c.conn = conn
	ch, err := conn.NewAPIChannelBuffered(64, eventBuffer)
	if err != nil {
		return fmt.Errorf("opening a govpp channel: %w", err)
	}
	ch.SetReplyTimeout(c.cfg.RequestTimeout)
	c.ch = ch
	if err := ch.CheckCompatiblity(messages...); err != nil {
		c.badID = id
		c.log.Warn("VPP's binary API does not match the one vppstats was built for (VPP v26.06 interface.api); interface state and identity metrics are off for this VPP, counters are not affected",
			zap.Error(err))
		return fmt.Errorf("%w: %w", errIncompatible, err)
	}
	c.events = make(chan api.Message, eventBuffer)
	if c.sub, err = ch.SubscribeNotification(c.events, &interfaces.SwInterfaceEvent{}); err != nil {
		return fmt.Errorf("subscribing to sw_interface_event: %w", err)
	}
	reply := &interfaces.WantInterfaceEventsReply{}
	if err := ch.SendRequest(&interfaces.WantInterfaceEvents{EnableDisable: 1, PID: uint32(os.Getpid())}).ReceiveReply(reply); err != nil {
		return fmt.Errorf("want_interface_events: %w", err)
	}
	c.connectedID = id
	all, err := c.dump(^uint32(0))
	if err != nil {
		return err
	}
	c.log.Info("connected to VPP's binary API", zap.Int("interfaces", len(all)))
	c.publish(true, all)
	return nil
}

func (c *Client) disconnect() {
	if c.sub != nil {
		_ = c.sub.Unsubscribe()
		c.sub = nil
	}
	if c.ch != nil {
		c.ch.Close()
		c.ch = nil
	}
	if c.conn != nil {
		c.conn.Disconnect()
		c.conn = nil
	}
	c.events = nil
	c.connectedID = 0
}

// dump asks VPP for one interface (index) or all (^0).
func (c *Client) dump(index uint32) (map[uint32]Interface, error) {
	req := c.ch.SendMultiRequest(&interfaces.SwInterfaceDump{SwIfIndex: interface_types.InterfaceIndex(index)})
	out := map[uint32]Interface{}
	for {
		d := &interfaces.SwInterfaceDetails{}
		last, err := req.ReceiveReply(d)
		if err != nil {
			return nil, fmt.Errorf("sw_interface_dump: %w", err)
		}
		if last {
			return out, nil
		}
		out[uint32(d.SwIfIndex)] = fromDetails(d)
	}
}

// dumpAll replaces the table with a full dump; a failure reconnects.
func (c *Client) dumpAll() {
	all, err := c.dump(^uint32(0))
	if err != nil {
		c.log.Info("VPP's binary API stopped answering; reconnecting", zap.Error(err))
		c.reconnect(false)
		return
	}
	c.publish(true, all)
}

// onEvents applies an event and any others already queued: deletions and
// flags at once, then a dump of the interfaces concerned (new ones, and
// speed/MTU that change with the link).
func (c *Client) onEvents(first api.Message) {
	next := make(map[uint32]Interface, len(c.ifs)+1)
	for k, v := range c.ifs {
		next[k] = v
	}
	touched := map[uint32]bool{}
	apply := func(m api.Message) {
		ev, ok := m.(*interfaces.SwInterfaceEvent)
		if !ok {
			return
		}
		i := uint32(ev.SwIfIndex)
		if ev.Deleted {
			delete(next, i)
			delete(touched, i)
			return
		}
		if in, ok := next[i]; ok {
			in.setFlags(ev.Flags)
			next[i] = in
		}
		touched[i] = true
	}
	apply(first)
drain:
	for {
		select {
		case m := <-c.events:
			apply(m)
		default:
			break drain
		}
	}
	if len(touched) > maxSingleDumps {
		c.ifs = next
		c.dumpAll()
		return
	}
	for i := range touched {
		one, err := c.dump(i)
		if err != nil {
			c.log.Info("VPP's binary API stopped answering; reconnecting", zap.Error(err))
			c.reconnect(false)
			return
		}
		if in, ok := one[i]; ok {
			next[i] = in
		} else {
			delete(next, i) // gone since the event
		}
	}
	c.publish(true, next)
}

func (c *Client) publish(connected bool, ifs map[uint32]Interface) {
	c.ifs = ifs
	c.gen++
	c.table.Store(newTable(c.gen, connected, ifs))
}

// logOnce logs a failure the first time it differs from the previous one.
func (c *Client) logOnce(key, msg string, fields ...zap.Field) {
	if key == c.lastLog {
		return
	}
	c.lastLog = key
	c.log.Warn(msg, fields...)
}
