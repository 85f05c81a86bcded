package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vppstats/vppstats/internal/pods"
	"github.com/vppstats/vppstats/internal/vppapi"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

// Interface identity: state and metadata from VPP's binary API
// (internal/vppapi) and pod attribution (internal/pods). The scraper only
// reads snapshots here; all API traffic is on the client's own goroutine, so
// a missing, slow or incompatible API never delays or fails a scrape.

// identity is the scraper's state for interface identity.
type identity struct {
	api  interfaceSource // nil: api_socket_path is ""
	pods pods.Source     // nil: no pods section
}

// interfaceSource is what the scraper needs of *vppapi.Client.
type interfaceSource interface {
	Table() *vppapi.Table
	Refresh()
	Close()
}

// interfaceIndexKey is the attribute that ties a point to an interface, on
// the counters and on the state metrics alike.
const interfaceIndexKey = "vpp.interface.index"

func (s *vppScraper) startIdentity() {
	if s.cfg.APISocketPath != "" {
		s.id.api = vppapi.Start(vppapi.Config{SocketPath: s.cfg.APISocketPath, Logger: s.logger})
	}
	if s.cfg.Pods.CalicoVPPState != "" {
		s.id.pods = pods.NewCalicoVPP(s.cfg.Pods.CalicoVPPState, s.logger)
	}
}

func (s *vppScraper) stopIdentity() {
	if s.id.api != nil {
		s.id.api.Close()
		s.id.api = nil
	}
}

// directoryChanged is called when the stats directory changed after the
// first scrape (interfaces added or deleted, or a new VPP): the one moment
// the interface table is dumped again.
func (s *vppScraper) directoryChanged() {
	if s.id.api != nil {
		s.id.api.Refresh()
	}
}

// recordInterfaceState records the vpp.interface.{admin.up,link.up,
// link.speed,mtu} points from the API client's current table. The
// generated Record functions append (their identifying attributes are
// required), so this is linear in interfaces.
func (s *vppScraper) recordInterfaceState(ts pcommon.Timestamp) {
	if s.id.api == nil {
		return
	}
	tb := s.id.api.Table()
	for _, in := range tb.All() {
		if !s.pc.interfaces.keep(in.Name) {
			continue
		}
		opts := identityOptions(tb, in)
		idx := int64(in.Index)
		s.mb.RecordVppInterfaceAdminUpDataPoint(ts, boolInt(in.AdminUp), in.Name, idx, in.DevType, opts...)
		s.mb.RecordVppInterfaceLinkUpDataPoint(ts, boolInt(in.LinkUp), in.Name, idx, in.DevType, opts...)
		if in.SpeedBytes > 0 { // VPP reports none: no point
			s.mb.RecordVppInterfaceLinkSpeedDataPoint(ts, int64(in.SpeedBytes), in.Name, idx, in.DevType, opts...)
		}
		if in.MTU > 0 {
			s.mb.RecordVppInterfaceMtuDataPoint(ts, int64(in.MTU), in.Name, idx, in.DevType, opts...)
		}
	}
}

// identityOptions are the attributes an interface has only sometimes: MAC,
// tag, and the parent and sub-id of a sub-interface.
func identityOptions(tb *vppapi.Table, in vppapi.Interface) []metadata.MetricAttributeOption {
	var opts []metadata.MetricAttributeOption
	if in.MAC != "" {
		opts = append(opts, metadata.WithHwNetworkPhysicalAddressMetricAttribute(in.MAC))
	}
	if in.Tag != "" {
		opts = append(opts, metadata.WithVppInterfaceTagMetricAttribute(in.Tag))
	}
	if in.IsSub {
		if parent := tb.ParentName(in); parent != "" {
			opts = append(opts, metadata.WithVppInterfaceParentNameMetricAttribute(parent))
		}
		opts = append(opts, metadata.WithVppInterfaceSubIDMetricAttribute(int64(in.SubID)))
	}
	return opts
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// splitPods moves the points of pod interfaces (counters and state alike)
// out of the VPP resource into one resource per pod, carrying k8s.pod.name,
// k8s.namespace.name and k8s.pod.ip besides the VPP resource's attributes:
// kubeletstats' shape, so k8sattributesprocessor can associate on
// k8s.pod.ip and Prometheus (resource_to_telemetry_conversion) shows pod
// and namespace labels. Without a pod source, md is returned as is.
func (s *vppScraper) splitPods(md pmetric.Metrics) pmetric.Metrics {
	if s.id.pods == nil || md.ResourceMetrics().Len() != 1 {
		return md
	}
	byIndex := s.id.pods.Pods()
	if len(byIndex) == 0 {
		return md
	}
	vpp := md.ResourceMetrics().At(0)
	type podKey struct{ namespace, name string }
	type podOut struct {
		scope   pmetric.ScopeMetrics
		metrics map[string]pmetric.Metric
	}
	out := map[podKey]*podOut{}
	for i := range vpp.ScopeMetrics().Len() {
		sm := vpp.ScopeMetrics().At(i)
		for j := range sm.Metrics().Len() {
			m := sm.Metrics().At(j)
			dps, ok := metadata.NumberPoints(m)
			if !ok {
				continue
			}
			dps.RemoveIf(func(dp pmetric.NumberDataPoint) bool {
				v, ok := dp.Attributes().Get(interfaceIndexKey)
				if !ok {
					return false
				}
				pod, ok := byIndex[uint32(v.Int())]
				if !ok {
					return false
				}
				k := podKey{pod.Namespace, pod.Name}
				po := out[k]
				if po == nil {
					rm := md.ResourceMetrics().AppendEmpty()
					s.podResource(pod).MoveTo(rm.Resource())
					po = &podOut{scope: rm.ScopeMetrics().AppendEmpty(), metrics: map[string]pmetric.Metric{}}
					sm.Scope().CopyTo(po.scope.Scope())
					po.scope.SetSchemaUrl(sm.SchemaUrl())
					out[k] = po
				}
				pm, ok := po.metrics[m.Name()]
				if !ok {
					pm = po.scope.Metrics().AppendEmpty()
					copyMetricShape(m, pm)
					po.metrics[m.Name()] = pm
				}
				target, _ := metadata.NumberPoints(pm)
				dp.MoveTo(target.AppendEmpty())
				return true
			})
		}
		sm.Metrics().RemoveIf(func(m pmetric.Metric) bool {
			dps, ok := metadata.NumberPoints(m)
			return ok && dps.Len() == 0
		})
	}
	return md
}

// podResource is the VPP resource plus the pod's attributes.
func (s *vppScraper) podResource(p pods.Pod) pcommon.Resource {
	s.setVPPResource()
	s.rb.SetK8sNamespaceName(p.Namespace)
	s.rb.SetK8sPodName(p.Name)
	if p.IP != "" {
		s.rb.SetK8sPodIP(p.IP)
	}
	return s.rb.Emit()
}

// copyMetricShape makes dst a metric like src without its points.
func copyMetricShape(src, dst pmetric.Metric) {
	dst.SetName(src.Name())
	dst.SetDescription(src.Description())
	dst.SetUnit(src.Unit())
	switch src.Type() {
	case pmetric.MetricTypeSum:
		sum := dst.SetEmptySum()
		sum.SetIsMonotonic(src.Sum().IsMonotonic())
		sum.SetAggregationTemporality(src.Sum().AggregationTemporality())
	case pmetric.MetricTypeGauge:
		dst.SetEmptyGauge()
	}
}
