package testenv

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
)

// threadNetns names the network namespace of the calling thread.
func threadNetns() (string, error) {
	return os.Readlink(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
}

// TestNetnsGivesItsThreadBack: the runtime hands a thread from goroutine to
// goroutine, so the thread a namespace holds may have started a server
// with Pdeathsig before (a package's shared PostgreSQL died that way when
// a Samba DC stopped). When the namespace closes, its thread must be back
// in the process's namespace and free to run other goroutines, not end.
func TestNetnsGivesItsThreadBack(t *testing.T) {
	if os.Geteuid() != 0 {
		Require(t, "a network namespace", errors.New("it needs root"))
	}
	type result struct {
		before, inside, after string
		err                   error
	}
	res := make(chan result, 1)
	go func() {
		// Locked here, so that hold runs on this thread, and stays locked
		// after it (a lock is counted) so that the thread can be read.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var r result
		r.before, r.err = threadNetns()
		n := &netns{reqs: make(chan func(), 1), done: make(chan struct{})}
		n.reqs <- func() { r.inside, _ = threadNetns() }
		close(n.reqs) // hold runs the one request, then ends
		errc := make(chan error, 1)
		n.hold(errc)
		if err := <-errc; err != nil && r.err == nil {
			r.err = err
		}
		if after, err := threadNetns(); r.err == nil {
			r.after, r.err = after, err
		}
		res <- r
	}()
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.inside == r.before || r.after != r.before {
		t.Fatalf("the thread was in %s, in %s while held, then in %s: want a namespace of its own while held, and the process's after", r.before, r.inside, r.after)
	}
}
