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

	// pc is what of the configuration the plan depends on.
	pc planConfig
	// tel is the receiver's own health (telemetry.go).
	tel telemetry

	mb *metadata.MetricsBuilder
	rb *metadata.ResourceBuilder
	id identity // interface state and pods (identity.go)

	// Connection.
	r        *statseg.Reader
	snap     statseg.Snapshot
	plan     *plan
	link     link // liveness and backoff (connection.go)
	bootRaw  uint64
	bootSeen bool
	// lastScrape is the time of the last successful scrape of this VPP
	// (same boot), zero before the first one.
	lastScrape pcommon.Timestamp
}

func newScraper(cfg *Config, set receiver.Settings) (*vppScraper, error) {
	s := &vppScraper{cfg: cfg, set: set, logger: set.Logger, now: time.Now}
	s.pc.perThread = cfg.PerThread
	var err error
	if s.pc.interfaces, err = cfg.Interfaces.compile("interfaces"); err != nil {
		return nil, err
	}
	s.pc.idleNodes = cfg.Nodes.IncludeIdle
	if s.pc.nodes, err = cfg.Nodes.FilterConfig.compile("nodes"); err != nil {
		return nil, err
	}
	if s.pc.errors, err = cfg.Errors.FilterConfig.compile("errors"); err != nil {
		return nil, err
	}
	if s.pc.stats, err = cfg.Stats.compile("stats"); err != nil {
		return nil, err
	}
	if s.tel.tb, err = metadata.NewTelemetryBuilder(set.TelemetrySettings); err != nil {
		return nil, fmt.Errorf("setting up the receiver's own telemetry: %w", err)
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
		_, s.pc.enabled[id] = s.mb.Points(id)
	}
	s.startIdentity()
	return nil
}

func (s *vppScraper) shutdown(context.Context) error {
	s.disconnect()
	s.stopIdentity()
	s.tel.shutdown()
	return nil
}

func (s *vppScraper) scrape(ctx context.Context) (pmetric.Metrics, error) {
	began := time.Now()
	defer func() { s.tel.scraped(ctx, time.Since(began)) }()
	now := s.now()
	if err := ctx.Err(); err != nil {
		return pmetric.NewMetrics(), err
	}
	if up, err := s.connect(ctx, now); !up {
		return pmetric.NewMetrics(), err
	}
	if err := s.read(ctx); err != nil {
		if errors.Is(err, statseg.ErrBusy) {
			return pmetric.NewMetrics(), err // transient: keep the mapping
		}
		return pmetric.NewMetrics(), s.fail(now, fmt.Errorf("reading the VPP stats segment: %w; the receiver reconnects", err))
	}
	if s.plan == nil || s.plan.dir != s.snap.Dir {
		p := buildPlan(s.snap.Dir, &s.pc)
		if s.plan != nil && s.plan.dir.Epoch != p.dir.Epoch {
			s.tel.epochChanged(ctx)
		}
		if s.plan != nil {
			s.directoryChanged()
		}
		p.carry(s.plan)
		s.plan = p
	}
	p := s.plan
	vals := s.snap.Values

	var boot uint64
	if p.boottime >= 0 {
		boot = vals[p.boottime].Scalar
	}

	s.checkBoot(p, boot)
	bootTs := pcommon.Timestamp(boot * uint64(time.Second))
	if boot == 0 {
		bootTs = pcommon.NewTimestampFromTime(now)
	}
	bootTs = max(bootTs, s.link.startFloor)
	ts := pcommon.NewTimestampFromTime(now)
	// /sys/last_stats_clear is VPP's clock (seconds since it started) at
	// the last `clear runtime`, 0 if never. One past the scrape time is
	// not a clear that happened: ignored.
	var clearTs pcommon.Timestamp
	if p.lastStatsClear >= 0 && boot > 0 {
		if c := vals[p.lastStatsClear].Scalar; c > 0 {
			if t := bootTs + pcommon.Timestamp(c*uint64(time.Second)); t > bootTs && t <= ts {
				clearTs = t
			}
		}
	}

	e := emitter{s: s, ts: ts, perThread: s.cfg.PerThread}
	if p.nodeCalls >= 0 {
		e.calls = &vals[p.nodeCalls]
	}
	e.newStart = bootTs
	e.resetStart = bootTs
	if s.lastScrape != 0 {
		e.newStart, e.resetStart = s.lastScrape, s.lastScrape
	}
	for _, src := range p.sources {
		e.counters(src, &vals[src.entry], clearTs)
	}
	e.system(p, vals, now, boot)
	s.recordInterfaceState(ts)

	s.lastScrape = ts
	s.link.backoff = 0

	s.setVPPResource()
	md := s.splitPods(s.mb.Emit(metadata.WithResource(s.rb.Emit())))
	s.tel.unreadable(ctx, len(s.snap.Errs))
	if errs := s.snap.Errs; len(errs) > 0 {
		// Stats the segment holds but that cannot be read (a corrupt or
		// half-written entry): emit the rest, and say which are missing.
		return md, s.partial(errs)
	}
	return md, nil
}

// setVPPResource puts the VPP resource's attributes in the resource
// builder, whose Emit resets it: the scrape's resource and each pod's
// (identity.go) start from them.
func (s *vppScraper) setVPPResource() {
	s.rb.SetVppStatsSocket(s.cfg.SocketPath)
	if s.cfg.Instance != "" {
		s.rb.SetVppInstance(s.cfg.Instance)
	}
}

// want says which entries a snapshot copies (see planConfig.want).
func (s *vppScraper) want(e *statseg.Entry) bool { return s.pc.want(e) }

// partial reports the unreadable entries of a scrape. The error counts
// entries; its Failed count is what scraperhelper compares with the
// metrics it got (pmetric.Metrics.MetricCount): the metrics these
// entries leave incomplete.
func (s *vppScraper) partial(errs []error) error {
	err := fmt.Errorf("%d VPP stat entries could not be read and were left out: %w", len(errs), errors.Join(errs...))
	return scrapererror.NewPartialScrapeError(err, max(s.incomplete(), 1))
}

// incomplete counts the enabled metrics fed by the snapshot's unreadable
// entries.
func (s *vppScraper) incomplete() int {
	var hit [metadata.NumMetrics]bool
	n := 0
	mark := func(id metadata.MetricID) {
		if s.pc.enabled[id] && !hit[id] {
			hit[id] = true
			n++
		}
	}
	for i := range s.snap.Dir.Entries {
		e := &s.snap.Dir.Entries[i]
		if e.Err == nil || e.Type == statseg.TypeEmpty || !s.want(e) {
			continue
		}
		if m := meaningOf(e.Name); m != nil {
			for _, f := range m.fields {
				mark(f.metric)
			}
			if m.use == useNames {
				s.pc.eachFamilyMetric(m.cols, mark)
			}
		} else if id, ok := s.pc.catchAll(e); ok {
			mark(id)
		}
	}
	return n
}
