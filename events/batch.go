package events

import (
	"context"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// BatchLoop is the batching at the heart of every consumer: messages are
// decoded into a batch of up to Size, or what arrived within Wait of the
// first, and full batches go to Workers goroutines running Handle while
// the loop already collects the next. A batch waits for a free worker,
// so at most Workers+1 batches are held: the subscription's
// unacknowledged limit must allow that many.
type BatchLoop[T any] struct {
	Size    int
	Wait    time.Duration
	Workers int // default 1
	// Decode turns a message into an item; false means Decode has dealt
	// with the message itself (dead-lettered it) and it joins no batch.
	Decode func(msg *message.Message) (T, bool)
	// Handle processes a batch and acks or nacks every message of it.
	// It runs on the workers, Workers at a time.
	Handle func(msgs []*message.Message, items []T)
}

// Run reads msgs until ctx ends, returning nil (the batch being collected
// is nacked), or until msgs is closed, returning ErrSubscriptionClosed
// after handing over what it holds. It returns once every batch handed
// over has been handled.
func (l BatchLoop[T]) Run(ctx context.Context, msgs <-chan *message.Message) error {
	jobs := make(chan batchOf[T])
	var wg sync.WaitGroup
	for range max(l.Workers, 1) {
		wg.Go(func() {
			for b := range jobs {
				l.Handle(b.msgs, b.items)
			}
		})
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	var cur batchOf[T]
	flush := func() {
		if len(cur.msgs) == 0 {
			return
		}
		select {
		case jobs <- cur:
		case <-ctx.Done():
			cur.nackAll()
		}
		cur = batchOf[T]{}
	}
	timer := time.NewTimer(l.Wait)
	timer.Stop()
	for {
		var wait <-chan time.Time
		if len(cur.msgs) > 0 {
			wait = timer.C
		}
		select {
		case <-ctx.Done():
			cur.nackAll()
			return nil
		case <-wait:
			flush()
		case msg, ok := <-msgs:
			if !ok {
				if ctx.Err() != nil {
					cur.nackAll()
					return nil
				}
				flush()
				return ErrSubscriptionClosed
			}
			item, ok := l.Decode(msg)
			if !ok {
				continue
			}
			cur.msgs = append(cur.msgs, msg)
			cur.items = append(cur.items, item)
			if len(cur.msgs) == 1 {
				timer.Reset(l.Wait)
			}
			if len(cur.msgs) >= l.Size {
				timer.Stop()
				flush()
			}
		}
	}
}

// batchOf is one batch: the messages and what they decoded to.
type batchOf[T any] struct {
	msgs  []*message.Message
	items []T
}

func (b batchOf[T]) nackAll() {
	for _, msg := range b.msgs {
		msg.Nack()
	}
}

// failurePause is how long a consumer waits before its failures-th try
// of a failed batch: a handler whose store is down would spin on it
// without a pause.
func failurePause(wait time.Duration, failures int64) time.Duration {
	if wait <= 0 {
		wait = DefaultBatchWait
	}
	return min(wait<<min(failures, 8), maxFailurePause)
}
