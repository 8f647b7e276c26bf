// Package logbuf batches log lines into as few writes as the load allows.
//
// A gateway logs a line per request; written one at a time, the write
// system call costs about as much as formatting the line. Writer hands
// every line to one goroutine that writes whatever has gathered since its
// last write: one line per write when traffic is light, so nothing waits,
// and many per write under load.
package logbuf

import (
	"io"
	"sync"
)

// maxPending bounds what may wait to be written. A caller that finds this
// much pending waits for the write in progress, so a stalled destination
// slows the logging process instead of growing its memory.
const maxPending = 1 << 20

// Writer is an io.Writer that writes to its destination from its own
// goroutine. It is safe for concurrent use; lines keep their order. Close
// writes what is pending and stops the goroutine.
type Writer struct {
	out io.Writer

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a write finishes or Close begins
	pending []byte
	writing bool // the goroutine holds a batch it is writing
	closed  bool
	err     error // the destination's first write error

	wake chan struct{}
	done chan struct{}
}

// New returns a Writer to out and starts its goroutine.
func New(out io.Writer) *Writer {
	w := &Writer{out: out, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// Write queues p. After Close it writes p directly.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.out.Write(p)
	}
	for len(w.pending) >= maxPending && w.writing {
		w.cond.Wait()
	}
	w.pending = append(w.pending, p...)
	// Under mu, so Close cannot close wake in between.
	select {
	case w.wake <- struct{}{}:
	default:
	}
	w.mu.Unlock()
	return len(p), nil
}

// Flush waits until everything queued so far is written, and returns the
// destination's first write error, if any.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for (len(w.pending) > 0 || w.writing) && !w.closed {
		select {
		case w.wake <- struct{}{}:
		default:
		}
		w.cond.Wait()
	}
	return w.err
}

// Close writes what is pending and stops the goroutine; later writes go
// straight to the destination.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.err
	}
	w.closed = true
	close(w.wake)
	w.cond.Broadcast()
	w.mu.Unlock()
	<-w.done
	return w.err
}

func (w *Writer) loop() {
	defer close(w.done)
	var spare []byte
	for range w.wake {
		w.drain(&spare)
	}
	// Closed: the last batch.
	w.drain(&spare)
}

// drain writes batches until nothing is pending.
func (w *Writer) drain(spare *[]byte) {
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.cond.Broadcast()
			w.mu.Unlock()
			return
		}
		batch := w.pending
		w.pending = (*spare)[:0]
		w.writing = true
		w.mu.Unlock()

		_, err := w.out.Write(batch)

		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
		}
		w.writing = false
		w.cond.Broadcast()
		w.mu.Unlock()
		// A batch grown far past the usual is not kept for reuse.
		if cap(batch) <= maxPending {
			*spare = batch[:0]
		} else {
			*spare = nil
		}
	}
}
