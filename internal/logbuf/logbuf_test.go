package logbuf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a destination that records each write.
type recorder struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	if r.err != nil {
		return 0, r.err
	}
	return r.buf.Write(p)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// TestWriter_OrderAndCompleteness writes from many goroutines and checks
// every line arrives whole, each goroutine's in order.
func TestWriter_OrderAndCompleteness(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	w := New(rec, time.Millisecond)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(rec.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines written, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d line %d", &g, &i); err != nil {
			t.Fatalf("torn line %q: %v", l, err)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
}

// TestWriter_Flush checks that Flush returns only once what was written
// before it reached the destination.
func TestWriter_Flush(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	w := New(rec, time.Millisecond)
	defer w.Close()
	for i := range 100 {
		fmt.Fprintf(w, "line %d\n", i)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("line %d\n", i); !strings.HasSuffix(rec.String(), want) {
			t.Fatalf("after Flush the destination ends %q, want %q", rec.String()[max(0, len(rec.String())-20):], want)
		}
	}
}

// TestWriter_Linger checks that lines written within the linger share one
// write, that Flush and Close do not wait the linger out, and that a line
// nobody flushes is written once the linger has passed.
func TestWriter_Linger(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	w := New(rec, time.Hour)
	for i := range 100 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	writes, lines := rec.writes, strings.Count(rec.buf.String(), "\n")
	rec.mu.Unlock()
	if writes != 1 || lines != 100 {
		t.Errorf("100 lines within the linger reached the destination in %d writes (%d lines), want 1 write", writes, lines)
	}
	fmt.Fprintln(w, "last")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(rec.String(), "last\n") {
		t.Errorf("Close left a line unwritten: destination ends %q", rec.String()[max(0, len(rec.String())-20):])
	}

	rec = &recorder{}
	w = New(rec, time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "unflushed")
	for rec.String() != "unflushed\n" {
		time.Sleep(time.Millisecond)
	}
}

// TestWriter_AfterClose checks that a write after Close goes straight
// through and that the destination's error is reported.
func TestWriter_AfterClose(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	w := New(rec, time.Millisecond)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("late\n")); err != nil || rec.String() != "late\n" {
		t.Errorf("write after Close: err %v, destination %q", err, rec.String())
	}

	failing := &recorder{err: errors.New("disk full")}
	w = New(failing, time.Millisecond)
	fmt.Fprintln(w, "lost")
	if err := w.Close(); err == nil || err.Error() != "disk full" {
		t.Errorf("Close = %v, want the destination's error", err)
	}
}

// countingFile counts the writes that reach a file.
type countingFile struct {
	f      *os.File
	writes atomic.Int64
}

func (c *countingFile) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.f.Write(p)
}

// BenchmarkWriter compares log lines written to a file one write each with
// lines written through a Writer, from concurrent goroutines, and reports
// the writes per line of a Writer fed one line at a time, a timer tick
// apart (200 µs asked, a gateway serving a few thousand requests a
// second), where lines share writes only through the linger.
func BenchmarkWriter(b *testing.B) {
	line := []byte(`time=2026-12-02T12:00:00Z level=INFO msg=request request_id=req_0123456789abcdef method=POST path=/v1/chat/completions status=200 duration=1.2ms` + "\n")
	open := func(b *testing.B) *countingFile {
		f, err := os.Create(filepath.Join(b.TempDir(), "log"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return &countingFile{f: f}
	}
	b.Run("Direct", func(b *testing.B) {
		out := open(b)
		var mu sync.Mutex // as slog's handlers serialise their writes
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				_, _ = out.Write(line)
				mu.Unlock()
			}
		})
		b.ReportMetric(float64(out.writes.Load())/float64(b.N), "writes/line")
	})
	b.Run("Batched", func(b *testing.B) {
		out := open(b)
		w := New(out, 10*time.Millisecond)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = w.Write(line)
			}
		})
		_ = w.Close()
		b.ReportMetric(float64(out.writes.Load())/float64(b.N), "writes/line")
	})
	b.Run("Paced", func(b *testing.B) {
		out := open(b)
		w := New(out, 10*time.Millisecond)
		tick := time.NewTicker(200 * time.Microsecond)
		defer tick.Stop()
		for b.Loop() {
			<-tick.C
			_, _ = w.Write(line)
		}
		_ = w.Close()
		b.ReportMetric(float64(out.writes.Load())/float64(b.N), "writes/line")
	})
}
