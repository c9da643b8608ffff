package testenv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// netns is a private network namespace, held by one OS thread that lives
// in it. A server started through it binds its fixed ports (Samba's 389 and
// 636) on the namespace's own loopback, where they collide with nothing on
// the machine and with no other test's server; forward makes them reachable
// from the test on free ports of 127.0.0.1. Nothing outside the process
// changes: the namespace goes away with its last process and thread.
//
// A child started with Pdeathsig gets the signal when the thread that
// started it ends, so close must come after the server has exited (and
// hold gives its thread back rather than end it: see there).
type netns struct {
	reqs chan func() // run on the namespace's thread, one at a time
	done chan struct{}
}

// newNetns makes the namespace and brings its loopback up. It needs root
// (CAP_SYS_ADMIN).
func newNetns() (*netns, error) {
	n := &netns{reqs: make(chan func()), done: make(chan struct{})}
	errc := make(chan error, 1)
	go n.hold(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	return n, nil
}

// hold moves its thread into a new namespace and runs requests there until
// close. The thread stays locked meanwhile, so no other goroutine ever runs
// in the namespace. At the end it goes back to the process's namespace and
// is unlocked, not ended: the runtime hands threads from one goroutine to
// the next, so this one may have started other children before (the
// package's shared PostgreSQL or slapd), and ending it would send them
// their Pdeathsig. Only when it cannot go back does it end with the
// goroutine, as the runtime does with a locked thread.
func (n *netns) hold(errc chan<- error) {
	runtime.LockOSThread()
	defer close(n.done)
	home, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		errc <- fmt.Errorf("testenv: network namespace: %w", err)
		return
	}
	defer home.Close()
	if err := syscall.Unshare(syscall.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		errc <- fmt.Errorf("testenv: a private network namespace needs root (CAP_SYS_ADMIN): %w", err)
		return
	}
	defer func() {
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	if err := loopbackUp(); err != nil {
		errc <- err
		return
	}
	errc <- nil
	for fn := range n.reqs {
		fn()
	}
}

// do runs fn in the namespace and waits for it.
func (n *netns) do(fn func()) {
	finished := make(chan struct{})
	n.reqs <- func() { defer close(finished); fn() }
	<-finished
}

// start starts cmd inside the namespace: a forked child inherits the
// namespace of the thread that forks it.
func (n *netns) start(cmd *exec.Cmd) error {
	var err error
	n.do(func() { err = cmd.Start() })
	return err
}

// dial opens a TCP connection to addr inside the namespace. The socket is
// made on the namespace's thread and stays in the namespace wherever it is
// used afterwards.
func (n *netns) dial(addr string, timeout time.Duration) (net.Conn, error) {
	var (
		c   net.Conn
		err error
	)
	n.do(func() { c, err = net.DialTimeout("tcp", addr, timeout) })
	return c, err
}

// close ends the namespace's thread; call it once its processes are gone.
func (n *netns) close() {
	close(n.reqs)
	<-n.done
}

// loopbackUp sets IFF_UP on lo, which starts down in a new namespace; the
// kernel then gives it 127.0.0.1 and ::1. It is SIOCSIFFLAGS, what
// `ip link set lo up` does, without needing iproute2.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("testenv: network namespace: socket: %w", err)
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: the interface name, then ifr_flags (a short)
	copy(ifr[:syscall.IFNAMSIZ-1], "lo")
	if err := ioctlIfreq(fd, syscall.SIOCGIFFLAGS, &ifr); err != nil {
		return fmt.Errorf("testenv: network namespace: read the flags of lo: %w", err)
	}
	flags := binary.NativeEndian.Uint16(ifr[syscall.IFNAMSIZ:])
	binary.NativeEndian.PutUint16(ifr[syscall.IFNAMSIZ:], flags|syscall.IFF_UP)
	if err := ioctlIfreq(fd, syscall.SIOCSIFFLAGS, &ifr); err != nil {
		return fmt.Errorf("testenv: network namespace: bring lo up: %w", err)
	}
	return nil
}

func ioctlIfreq(fd int, req uintptr, ifr *[40]byte) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(ifr))); errno != 0 {
		return errno
	}
	return nil
}

// forwarder relays connections from a free port of 127.0.0.1 to an
// address inside a namespace, byte for byte: TLS and LDAP pass through
// untouched, and a connection the server closes is closed to the client.
type forwarder struct {
	ln     net.Listener
	ns     *netns
	target string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// forward listens on 127.0.0.1:0 and relays to target in n.
func (n *netns) forward(target string) (*forwarder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testenv: listen for %s: %w", target, err)
	}
	f := &forwarder{ln: ln, ns: n, target: target, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.accept()
	return f, nil
}

func (f *forwarder) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *forwarder) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return // closed
		}
		if !f.track(c) {
			return
		}
		f.wg.Add(1)
		go f.relay(c)
	}
}

// track remembers c so that close can end it; false once closing.
func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		_ = c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.conns, c)
	_ = c.Close()
}

// relay copies both ways until both sides are done; a side that ends its
// writing is half-closed on the other, as a direct connection would be.
func (f *forwarder) relay(client net.Conn) {
	defer f.wg.Done()
	defer f.untrack(client)
	server, err := f.ns.dial(f.target, 5*time.Second)
	if err != nil {
		return // the client sees the connection closed, like a server that is down
	}
	if !f.track(server) {
		return
	}
	defer f.untrack(server)
	var both sync.WaitGroup
	both.Add(2)
	pipe := func(dst, src net.Conn) {
		defer both.Done()
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}
	go pipe(server, client)
	go pipe(client, server)
	both.Wait()
}

// close stops accepting, ends every relayed connection and waits for the
// relays.
func (f *forwarder) close() error {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	err := f.ln.Close()
	f.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("testenv: close the forwarder to %s: %w", f.target, err)
	}
	return nil
}
