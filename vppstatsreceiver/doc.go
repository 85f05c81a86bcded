// Package vppstatsreceiver scrapes FD.io VPP's shared-memory stats segment into OpenTelemetry metrics.
package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

//go:generate sh -c "cd ../internal/tools && go tool mdatagen ../../vppstatsreceiver/metadata.yaml"
