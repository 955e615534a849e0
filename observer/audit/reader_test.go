// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// openUnbound opens the reader's socket without joining a group: no
// privilege needed, and nothing ever arrives, so Read blocks.
func openUnbound(t *testing.T, opts ReaderOptions) *Reader {
	t.Helper()
	r, err := newReader(opts, 0)
	if err != nil {
		t.Skipf("no NETLINK_AUDIT socket here: %v", err)
	}
	return r
}

func TestReaderCloseUnblocksRead(t *testing.T) {
	r := openUnbound(t, ReaderOptions{})
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		_, err := r.Read(context.Background())
		done <- err
	}()
	<-started
	// Close races with Read entering recvmsg; either way Read must end.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Read after Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	if _, err := r.Read(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Read: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestReaderContext(t *testing.T) {
	r := openUnbound(t, ReaderOptions{})
	defer r.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read with deadline: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := r.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with cancel: %v", err)
	}

	// A finished context's AfterFunc must not poison the next Read.
	for range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := r.Read(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Read with a cancelled context: %v", err)
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := r.Read(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("Read after cancelled reads: %v after %v", err, time.Since(start))
	}
}

func TestReaderBuffer(t *testing.T) {
	small := openUnbound(t, ReaderOptions{RcvBuf: 1})
	defer small.Close()
	big := openUnbound(t, ReaderOptions{RcvBuf: 1 << 20})
	defer big.Close()
	if small.RcvBuf() <= 0 || small.RcvBuf() > 8<<10 {
		t.Errorf("tiny buffer: the kernel granted %d bytes", small.RcvBuf())
	}
	if big.RcvBuf() <= small.RcvBuf() {
		t.Errorf("1 MiB asked: granted %d, tiny granted %d", big.RcvBuf(), small.RcvBuf())
	}
	d, err := small.Drops()
	if err != nil {
		t.Fatal(err)
	}
	if d != 0 || small.Overruns() != 0 {
		t.Errorf("fresh socket: %d drops, %d overruns", d, small.Overruns())
	}
}
