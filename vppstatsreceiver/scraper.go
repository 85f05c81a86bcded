package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper/scrapererror"
	"go.uber.org/zap"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

const (
	busyRetries     = 3
	busyPause       = 20 * time.Millisecond
	minBackoff      = time.Second
	maxBackoff      = time.Minute
	defaultConnTime = 5 * time.Second
)

type vppScraper struct {
	cfg    *Config
	set    receiver.Settings
	logger *zap.Logger

	// open returns a reader of the segment. By default it connects to the
	// stats socket; tests inject captures (statseg.OpenFile).
	open func(timeout time.Duration) (*statseg.Reader, error)
	now  func() time.Time

	interfaces, nodes, errors, stats filter
	enabled                          [metadata.NumMetrics]bool

	mb *metadata.MetricsBuilder
	rb *metadata.ResourceBuilder

	// Connection.
	r       *statseg.Reader
	snap    statseg.Snapshot
	plan    *plan
	retryAt time.Time
	backoff time.Duration
	lastErr error
	// failedSocket identifies the socket file at the last failure (0: none).
	failedSocket uint64
	// The heartbeat last seen, with the boot time it belongs to and when it
	// last moved. Kept across reconnections: a segment handed out again
	// frozen is still stale.
	hbValue, hbBoot uint64
	hbSince         time.Time
	hbSeen          bool
	bootRaw         uint64
	bootSeen        bool
	// lastScrape is the time of the last successful scrape of this VPP
	// (same boot), zero before the first one.
	lastScrape pcommon.Timestamp
}

func newScraper(cfg *Config, set receiver.Settings) (*vppScraper, error) {
	s := &vppScraper{cfg: cfg, set: set, logger: set.Logger, now: time.Now}
	var err error
	if s.interfaces, err = cfg.Interfaces.compile("interfaces"); err != nil {
		return nil, err
	}
	if s.nodes, err = cfg.Nodes.compile("nodes"); err != nil {
		return nil, err
	}
	if s.errors, err = cfg.Errors.FilterConfig.compile("errors"); err != nil {
		return nil, err
	}
	if s.stats, err = cfg.Stats.compile("stats"); err != nil {
		return nil, err
	}
	s.open = func(timeout time.Duration) (*statseg.Reader, error) {
		return statseg.Connect(cfg.SocketPath, timeout)
	}
	return s, nil
}

func (s *vppScraper) start(context.Context, component.Host) error {
	s.mb = metadata.NewMetricsBuilder(s.cfg.MetricsBuilderConfig, s.set)
	s.rb = s.mb.NewResourceBuilder()
	for id := range metadata.NumMetrics {
		_, s.enabled[id] = s.mb.Points(id)
	}
	return nil
}

func (s *vppScraper) shutdown(context.Context) error {
	s.disconnect()
	return nil
}

func (s *vppScraper) disconnect() {
	if s.r != nil {
		_ = s.r.Close()
		s.r = nil
	}
}

// connect makes sure a reader is open, honouring the backoff after failures.
func (s *vppScraper) connect(ctx context.Context, now time.Time) error {
	if s.r != nil && s.r.SocketReplaced() {
		// VPP restarted (or is restarting): the mapping we hold is the old,
		// frozen segment.
		s.logger.Info("VPP stats socket replaced or removed; reconnecting", zap.String("socket_path", s.cfg.SocketPath))
		s.disconnect()
		s.retryAt = time.Time{}
	}
	if s.r != nil {
		return nil
	}
	if now.Before(s.retryAt) {
		// Back off while nothing changed; a new socket file is VPP back.
		if id := statseg.SocketIdentity(s.cfg.SocketPath); id == 0 || id == s.failedSocket {
			return fmt.Errorf("not connected to VPP (next attempt in %v): %w", s.retryAt.Sub(now).Round(time.Second), s.lastErr)
		}
	}
	timeout := defaultConnTime
	if s.cfg.Timeout > 0 {
		timeout = s.cfg.Timeout
	}
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
		if timeout <= 0 { // statseg.Connect reads 0 as "no timeout"
			return fmt.Errorf("no time left to connect to %s: %w", s.cfg.SocketPath, context.DeadlineExceeded)
		}
	}
	r, err := s.open(timeout)
	if err != nil {
		return s.fail(now, err)
	}
	s.r = r
	return nil
}

// fail records a connection-level failure: it drops the reader and delays
// the next attempt (exponential backoff, reset by a successful scrape).
func (s *vppScraper) fail(now time.Time, err error) error {
	s.disconnect()
	s.backoff = min(max(2*s.backoff, minBackoff), maxBackoff)
	s.retryAt = now.Add(s.backoff)
	s.lastErr = err
	s.failedSocket = statseg.SocketIdentity(s.cfg.SocketPath)
	return err
}

// read takes a consistent snapshot, retrying a few times when VPP keeps
// changing the directory.
func (s *vppScraper) read(ctx context.Context) error {
	var err error
	for range busyRetries {
		if err = s.r.Snapshot(&s.snap, s.want); err == nil || !errors.Is(err, statseg.ErrBusy) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-time.After(busyPause):
		}
	}
	return err
}

func (s *vppScraper) scrape(ctx context.Context) (pmetric.Metrics, error) {
	now := s.now()
	if err := ctx.Err(); err != nil {
		return pmetric.NewMetrics(), err
	}
	if err := s.connect(ctx, now); err != nil {
		return pmetric.NewMetrics(), err
	}
	if err := s.read(ctx); err != nil {
		if errors.Is(err, statseg.ErrBusy) {
			return pmetric.NewMetrics(), err // transient: keep the mapping
		}
		return pmetric.NewMetrics(), s.fail(now, fmt.Errorf("reading the VPP stats segment: %w; the receiver reconnects", err))
	}
	if s.plan == nil || s.plan.dir != s.snap.Dir {
		s.plan = s.buildPlan(s.snap.Dir, s.plan)
	}
	p := s.plan
	vals := s.snap.Values

	var boot uint64
	if p.boottime >= 0 {
		boot = vals[p.boottime].Scalar
	}

	// Liveness: VPP bumps /sys/heartbeat every stats update interval.
	if p.heartbeat >= 0 {
		hb := vals[p.heartbeat].Scalar
		switch {
		case !s.hbSeen || hb != s.hbValue || boot != s.hbBoot:
			s.hbValue, s.hbBoot, s.hbSince, s.hbSeen = hb, boot, now, true
		case s.cfg.StaleAfter > 0 && now.Sub(s.hbSince) > s.cfg.StaleAfter:
			since := s.hbSince
			s.disconnect()
			return pmetric.NewMetrics(), fmt.Errorf("VPP stats are stale: /sys/heartbeat has stayed at %d since %s (%v, stale_after is %v); is VPP hung, or did it restart without replacing %s? Check the VPP process (`vppctl show version`); the receiver reconnects on the next scrape",
				hb, since.Format(time.RFC3339), now.Sub(since).Round(time.Second), s.cfg.StaleAfter, s.cfg.SocketPath)
		}
	}

	// Boot time: start of every cumulative series; a change is a restart.
	if s.bootSeen && boot != s.bootRaw {
		s.logger.Info("VPP restarted (boot time changed); all series restart", zap.Uint64("old_boottime", s.bootRaw), zap.Uint64("boottime", boot))
		p.reset()
		s.lastScrape = 0
	}
	s.bootRaw, s.bootSeen = boot, true
	bootTs := pcommon.Timestamp(boot * uint64(time.Second))
	if boot == 0 {
		bootTs = pcommon.NewTimestampFromTime(now)
	}
	// /sys/last_stats_clear is VPP's clock (seconds since it started) at
	// the last `clear runtime`, 0 if never.
	var clearTs pcommon.Timestamp
	if p.lastStatsClear >= 0 && boot > 0 {
		if c := vals[p.lastStatsClear].Scalar; c > 0 {
			clearTs = bootTs + pcommon.Timestamp(c*uint64(time.Second))
		}
	}

	ts := pcommon.NewTimestampFromTime(now)
	e := emitter{s: s, ts: ts, perThread: s.cfg.PerThread}
	e.newStart = bootTs
	e.resetStart = bootTs
	if s.lastScrape != 0 {
		e.newStart, e.resetStart = s.lastScrape, s.lastScrape
	}
	for _, src := range p.sources {
		e.counters(src, &vals[src.entry], clearTs)
	}
	e.system(p, vals, now, boot)

	s.lastScrape = ts
	s.backoff = 0
	s.lastErr = nil

	s.rb.SetVppStatsSocket(s.cfg.SocketPath)
	if s.cfg.Instance != "" {
		s.rb.SetVppInstance(s.cfg.Instance)
	}
	md := s.mb.Emit(metadata.WithResource(s.rb.Emit()))
	if errs := s.snap.Errs; len(errs) > 0 {
		// Stats the segment holds but that cannot be read (a corrupt or
		// half-written entry): emit the rest, and say which are missing.
		return md, scrapererror.NewPartialScrapeError(fmt.Errorf("%d VPP stats could not be read and were left out: %w", len(errs), errors.Join(errs...)), len(errs))
	}
	return md, nil
}

// emitter appends the points of one scrape.
type emitter struct {
	s          *vppScraper
	ts         pcommon.Timestamp
	perThread  bool
	newStart   pcommon.Timestamp // start of a series seen for the first time
	resetStart pcommon.Timestamp // start of a series whose value went backwards
}

func cell(v *statseg.Value, f field, t, c int) (uint64, bool) {
	switch f {
	case fieldSimple:
		if t < len(v.Simple) && c < len(v.Simple[t]) {
			return v.Simple[t][c], true
		}
	case fieldPackets:
		if t < len(v.Combined) && c < len(v.Combined[t]) {
			return v.Combined[t][c].Packets, true
		}
	case fieldBytes:
		if t < len(v.Combined) && c < len(v.Combined[t]) {
			return v.Combined[t][c].Bytes, true
		}
	}
	return 0, false
}

func rows(v *statseg.Value, f field) int {
	if f == fieldSimple {
		return len(v.Simple)
	}
	return len(v.Combined)
}

func (e *emitter) counters(src *source, v *statseg.Value, clearTs pcommon.Timestamp) {
	pts, ok := e.s.mb.Points(src.metric)
	if !ok {
		return
	}
	newStart, resetStart := e.newStart, e.resetStart
	if src.kind == kindNode && clearTs > 0 {
		// `clear runtime` records when node counters restarted.
		newStart, resetStart = max(newStart, clearTs), max(resetStart, clearTs)
	}
	skipZero := src.kind == kindError && !e.s.cfg.Errors.IncludeZero
	nrows := rows(v, src.field)
	nattrs := 1 + len(src.fixed)
	switch src.kind {
	case kindInterface, kindError, kindStat:
		nattrs++
	}
	if e.perThread {
		nattrs++
	}
	for _, c32 := range src.cols {
		c := int(c32)
		for t := range src.nt {
			var val uint64
			if e.perThread {
				x, ok := cell(v, src.field, t, c)
				if !ok {
					continue
				}
				val = x
			} else {
				for r := range nrows {
					x, _ := cell(v, src.field, r, c)
					val += x
				}
			}
			k := c*src.nt + t
			st := src.start[k]
			switch {
			case val < src.prev[k]:
				st = resetStart
				src.start[k] = st
			case st == 0:
				st = newStart
				src.start[k] = st
			}
			src.prev[k] = val
			if skipZero && val == 0 {
				continue
			}
			dp := pts.AppendEmpty()
			dp.SetStartTimestamp(st)
			dp.SetTimestamp(e.ts)
			dp.SetIntValue(int64(val))
			a := dp.Attributes()
			a.EnsureCapacity(nattrs)
			switch src.kind {
			case kindInterface:
				a.PutStr("vpp.interface.name", src.objs.name[c])
				a.PutInt("vpp.interface.index", int64(c))
			case kindNode:
				a.PutStr("vpp.node.name", src.objs.name[c])
			case kindError:
				a.PutStr("vpp.node.name", src.objs.name[c])
				a.PutStr("vpp.error.reason", src.objs.reason[c])
			case kindStat:
				a.PutStr("vpp.stat.name", src.path)
				a.PutInt("vpp.stat.index", int64(c))
			}
			for _, f := range src.fixed {
				a.PutStr(f.key, f.val)
			}
			if e.perThread {
				a.PutInt("vpp.thread.index", int64(t))
			}
		}
	}
}

func (e *emitter) gauge(id metadata.MetricID) (pmetric.NumberDataPoint, bool) {
	pts, ok := e.s.mb.Points(id)
	if !ok {
		return pmetric.NumberDataPoint{}, false
	}
	dp := pts.AppendEmpty()
	dp.SetTimestamp(e.ts)
	return dp, true
}

func (e *emitter) system(p *plan, vals []statseg.Value, now time.Time, boot uint64) {
	if p.vectorRate >= 0 {
		if dp, ok := e.gauge(metadata.MetricVppVectorRate); ok {
			dp.SetDoubleValue(statseg.AsFloat(vals[p.vectorRate].Scalar))
		}
	}
	if p.inputRate >= 0 {
		if dp, ok := e.gauge(metadata.MetricVppInputRate); ok {
			dp.SetDoubleValue(statseg.AsFloat(vals[p.inputRate].Scalar))
		}
	}
	if p.numWorkers >= 0 {
		if dp, ok := e.gauge(metadata.MetricVppWorkerCount); ok {
			dp.SetIntValue(int64(vals[p.numWorkers].Scalar))
		}
	}
	perWorker := func(idx int, id metadata.MetricID) {
		if idx < 0 || len(vals[idx].Simple) == 0 {
			return
		}
		for t, x := range vals[idx].Simple[0] {
			if dp, ok := e.gauge(id); ok {
				dp.SetDoubleValue(float64(x))
				dp.Attributes().PutInt("vpp.thread.index", int64(t))
			}
		}
	}
	perWorker(p.vectorRatePerWorker, metadata.MetricVppWorkerVectorRate)
	perWorker(p.loopsPerWorker, metadata.MetricVppWorkerLoopRate)
	if boot > 0 {
		if dp, ok := e.gauge(metadata.MetricVppUptime); ok {
			dp.SetDoubleValue(now.Sub(time.Unix(int64(boot), 0)).Seconds())
		}
	}
	for _, r := range p.pools {
		if dp, ok := e.gauge(r.metric); ok {
			dp.SetIntValue(int64(vals[r.entry].Scalar))
			a := dp.Attributes()
			a.EnsureCapacity(2)
			a.PutStr("vpp.buffer_pool.name", r.name)
			a.PutStr("vpp.buffer_pool.state", r.state)
		}
	}
	for _, m := range p.mems {
		v := &vals[m.entry]
		if len(v.Simple) == 0 || m.col >= len(v.Simple[0]) {
			continue
		}
		x := int64(v.Simple[0][m.col])
		if m.state == "total" {
			if dp, ok := e.gauge(metadata.MetricVppMemoryHeapSize); ok {
				dp.SetIntValue(x)
				dp.Attributes().PutStr("vpp.memory.heap.name", m.heap)
			}
			continue
		}
		if dp, ok := e.gauge(metadata.MetricVppMemoryHeapUsage); ok {
			dp.SetIntValue(x)
			a := dp.Attributes()
			a.EnsureCapacity(2)
			a.PutStr("vpp.memory.heap.name", m.heap)
			a.PutStr("vpp.memory.heap.state", m.state)
		}
	}
	for _, g := range p.gauges {
		if dp, ok := e.gauge(g.metric); ok {
			dp.SetDoubleValue(statseg.AsFloat(vals[g.entry].Scalar))
			dp.Attributes().PutStr("vpp.stat.name", g.name)
		}
	}
}
