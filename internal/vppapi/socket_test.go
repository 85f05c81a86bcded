package vppapi

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func startClient(t *testing.T, socket string) (*Client, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	c := Start(Config{SocketPath: socket, Logger: zap.New(core), watch: 50 * time.Millisecond})
	t.Cleanup(c.Close)
	return c, logs
}

func TestMissingOrRefusingSocket(t *testing.T) {
	dir := t.TempDir()
	missing, logs := startClient(t, filepath.Join(dir, "nothing.sock"))

	refusing := filepath.Join(dir, "refusing.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: refusing, Net: "unix"})
	require.NoError(t, err)
	l.SetUnlinkOnClose(false)
	require.NoError(t, l.Close()) // the file stays; connecting is refused
	refused, refusedLogs := startClient(t, refusing)

	for _, x := range []struct {
		c    *Client
		logs *observer.ObservedLogs
	}{{missing, logs}, {refused, refusedLogs}} {
		waitLogs := time.Now().Add(10 * time.Second)
		for x.logs.FilterMessageSnippet("VPP binary API unavailable").Len() == 0 && time.Now().Before(waitLogs) {
			time.Sleep(10 * time.Millisecond)
		}
		assert.Equal(t, 1, x.logs.FilterMessageSnippet("VPP binary API unavailable").Len())
		assert.False(t, x.c.Table().Connected)
		assert.Zero(t, x.c.Table().Len())
	}
}
