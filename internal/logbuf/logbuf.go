// Package logbuf batches log lines into as few writes as the load allows.
//
// A gateway logs a line per request; written one at a time, the write
// system call costs about as much as formatting the line, and handing each
// line to a writer goroutine costs a thread wake-up besides. Writer keeps
// lines in memory and writes them from one goroutine: the first line of a
// batch wakes it, it waits up to its linger for more, then writes them all
// at once. A line therefore reaches the destination at most a linger
// late, and a busy process pays one write and one wake-up per batch rather
// than per line.
package logbuf

import (
	"io"
	"sync"
	"time"
)

// Size bounds. A batch this large is written without waiting out the
// linger, and a caller that finds maxPending waiting blocks until the
// write in progress ends, so a stalled destination slows the logging
// process instead of growing its memory.
const (
	flushSize  = 64 << 10
	maxPending = 1 << 20
)

// Writer is an io.Writer that writes to its destination from its own
// goroutine. It is safe for concurrent use; lines keep their order. Close
// writes what is pending and stops the goroutine.
type Writer struct {
	out    io.Writer
	linger time.Duration

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a write finishes or Close begins
	pending []byte
	writing bool // the goroutine holds a batch it is writing
	closed  bool
	err     error // the destination's first write error

	wake   chan struct{} // a batch has begun
	urgent chan struct{} // write without waiting out the linger
	stop   chan struct{} // closed by Close
	done   chan struct{}
}

// New returns a Writer to out that holds a line at most linger before
// writing it, and starts its goroutine. A linger of 0 writes whatever has
// gathered as soon as the goroutine runs.
func New(out io.Writer, linger time.Duration) *Writer {
	w := &Writer{
		out:    out,
		linger: linger,
		wake:   make(chan struct{}, 1),
		urgent: make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	w.cond = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// signal sends on ch unless a signal is already waiting there.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
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
	first := len(w.pending) == 0
	w.pending = append(w.pending, p...)
	full := len(w.pending) >= flushSize
	w.mu.Unlock()
	// Only the first line of a batch, and the one that fills it, wake the
	// goroutine: the lines between cost no wake-up.
	if first {
		signal(w.wake)
	}
	if full {
		signal(w.urgent)
	}
	return len(p), nil
}

// Flush waits until everything queued so far is written, and returns the
// destination's first write error, if any.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for (len(w.pending) > 0 || w.writing) && !w.closed {
		signal(w.urgent)
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
	close(w.stop)
	w.cond.Broadcast()
	w.mu.Unlock()
	<-w.done
	return w.err
}

func (w *Writer) loop() {
	defer close(w.done)
	var spare []byte
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-w.wake:
			if w.linger > 0 {
				timer.Reset(w.linger)
				select {
				case <-timer.C:
				case <-w.urgent:
					timer.Stop()
				case <-w.stop:
					timer.Stop()
				}
			}
		case <-w.urgent:
		case <-w.stop:
			// Closed: the last batch.
			w.drain(&spare)
			return
		}
		w.drain(&spare)
	}
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
