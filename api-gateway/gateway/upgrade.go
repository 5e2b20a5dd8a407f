package gateway

import (
	"errors"
	"io"
	"net/http"
)

// errUpgradeEnded is what an upgraded connection's upstream side reports
// once it has ended, cleanly or not.
var errUpgradeEnded = errors.New("upstream of an upgraded connection ended")

// endBothOnUpgrade makes a switched-protocols exchange (a WebSocket) end as a
// whole: when either side ends, both connections close.
//
// httputil.ReverseProxy copies the two directions of an upgraded connection
// separately and forwards an end of one as a half-close (CloseWrite) while it
// keeps copying the other. A worker's WebSocket whose replica died then
// stays open on the worker's side: the worker reads EOF only if it reads,
// and its writes go on succeeding into the gateway until a write to the dead
// replica fails, a few hundred milliseconds of records lost without an error.
// The ReverseProxy ends the exchange, closing both connections, as soon as
// one direction's copy returns an error; so the upstream side is wrapped to
// turn its EOF into an error (copy from upstream) and to offer no CloseWrite
// (copy to upstream, where the ReverseProxy then ends the exchange too).
func endBothOnUpgrade(res *http.Response) {
	if res.StatusCode != http.StatusSwitchingProtocols {
		return
	}
	if rwc, ok := res.Body.(io.ReadWriteCloser); ok {
		res.Body = upstreamConn{rwc}
	}
}

// upstreamConn is the upstream side of an upgraded connection; it has no
// CloseWrite on purpose (see endBothOnUpgrade).
type upstreamConn struct{ io.ReadWriteCloser }

func (u upstreamConn) Read(p []byte) (int, error) {
	n, err := u.ReadWriteCloser.Read(p)
	if errors.Is(err, io.EOF) {
		err = errUpgradeEnded
	}
	return n, err
}
