package testsupport_test

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"
)

func TestFreePortCanBeListenedOn(t *testing.T) {
	addr := testsupport.FreeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the free address %s: %v", addr, err)
	}
	ln.Close()
}

func TestSyncBufferConcurrentWrites(t *testing.T) {
	var b testsupport.SyncBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				fmt.Fprintf(&b, "%d", i%10)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if b.Len() != 800 {
		t.Fatalf("buffer holds %d bytes, want 800", b.Len())
	}
}

func TestEnvSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("TESTSUPPORT_SET", "value")
	if got := testsupport.Env(t, "TESTSUPPORT_SET", "set by this test"); got != "value" {
		t.Fatalf("Env = %q, want value", got)
	}
	skipped := true
	t.Run("missing", func(t *testing.T) {
		testsupport.Env(t, "TESTSUPPORT_UNSET_VARIABLE", "never set")
		skipped = false
	})
	if !skipped {
		t.Fatal("a test without its server ran on")
	}
}

func TestEventually(t *testing.T) {
	var mu sync.Mutex
	done := false
	go func() {
		time.Sleep(20 * time.Millisecond) // the change the test waits for
		mu.Lock()
		done = true
		mu.Unlock()
	}()
	testsupport.Eventually(t, 5*time.Second, "the flag", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return done
	})
}
