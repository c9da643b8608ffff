package directory

import (
	"bytes"
	"net"
	"sync"
	"syscall"
	"time"
)

// recordingConn keeps a copy of every byte the server sent: real answers
// for the fuzz corpus and the decoding benchmark.
type recordingConn struct {
	net.Conn
	mu   sync.Mutex
	read bytes.Buffer
}

func (c *recordingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.read.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

// received returns a copy of what the server has sent so far.
func (c *recordingConn) received() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.read.Bytes())
}

// slowConn holds back the first read after arm for delay, as a client too
// busy to read would: the server's sends block meanwhile.
type slowConn struct {
	net.Conn
	mu    sync.Mutex
	delay time.Duration
}

func (c *slowConn) arm(delay time.Duration) {
	c.mu.Lock()
	c.delay = delay
	c.mu.Unlock()
}

func (c *slowConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	d := c.delay
	c.delay = 0
	c.mu.Unlock()
	time.Sleep(d)
	return c.Conn.Read(b)
}

// cutConn delivers the server's first limit bytes, then fails as a
// connection reset by a server that went away: the rest never arrives.
type cutConn struct {
	net.Conn
	mu    sync.Mutex
	limit int
}

func (c *cutConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	left := c.limit
	c.mu.Unlock()
	if left <= 0 {
		_ = c.Conn.Close()
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	n, err := c.Conn.Read(b[:min(len(b), left)])
	c.mu.Lock()
	c.limit -= n
	c.mu.Unlock()
	return n, err
}
