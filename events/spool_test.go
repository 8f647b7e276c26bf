package events_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
)

func openSpool(tb testing.TB, dir string, opts events.SpoolOptions) *events.Spool {
	tb.Helper()
	s, err := events.OpenSpool(dir, opts)
	if err != nil {
		tb.Fatalf("OpenSpool() error = %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// replayAll replays s and returns the ids in the order fn saw them.
func replayAll(tb testing.TB, s *events.Spool) []string {
	tb.Helper()
	var ids []string
	if _, err := s.Replay(func(evs []*convertor.UsageEvent) error {
		for _, ev := range evs {
			ids = append(ids, ev.ID)
		}
		return nil
	}); err != nil {
		tb.Fatalf("Replay() error = %v", err)
	}
	return ids
}

func idsOf(evs []*convertor.UsageEvent) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return ids
}

func TestSpool_AppendReplayOrder(t *testing.T) {
	t.Parallel()
	// Small segments so the order holds across several files.
	s := openSpool(t, t.TempDir(), events.SpoolOptions{SegmentSize: 2048})
	evs := testEvents(t, 200)
	for chunk := range slices.Chunk(evs, 7) {
		if err := s.Append(chunk); err != nil {
			t.Fatalf("Append() error = %v", err)
		}
	}
	if got := s.Len(); got != len(evs) {
		t.Fatalf("Len() = %d, want %d", got, len(evs))
	}
	if got, want := replayAll(t, s), idsOf(evs); !slices.Equal(got, want) {
		t.Fatalf("Replay() order = %v\nwant %v", got, want)
	}
	if got := s.Len(); got != 0 {
		t.Errorf("Len() after replay = %d, want 0", got)
	}
	if got := replayAll(t, s); len(got) != 0 {
		t.Errorf("second Replay() = %d events, want none", len(got))
	}
}

func TestSpool_ReopenKeepsEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := events.OpenSpool(dir, events.SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs := testEvents(t, 10)
	if err := s.Append(evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	s2 := openSpool(t, dir, events.SpoolOptions{})
	if got := s2.Len(); got != len(evs) {
		t.Errorf("Len() after reopen = %d, want %d", got, len(evs))
	}
	if got, want := replayAll(t, s2), idsOf(evs); !slices.Equal(got, want) {
		t.Errorf("Replay() after reopen = %v, want %v", got, want)
	}
}

func TestSpool_OneProcessPerDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	openSpool(t, dir, events.SpoolOptions{})
	if s, err := events.OpenSpool(dir, events.SpoolOptions{}); err == nil {
		s.Close()
		t.Fatal("second OpenSpool() of a directory in use succeeded, want an error")
	}
}

func TestSpool_TornWrite(t *testing.T) {
	t.Parallel()
	for _, cut := range []int{1, 4, 8, 9, 50} { // bytes cut off the last record: in its header, at its boundary, in its payload
		dir := t.TempDir()
		s, err := events.OpenSpool(dir, events.SpoolOptions{})
		if err != nil {
			t.Fatal(err)
		}
		first, last := testEvents(t, 5), testEvent(t, 99)
		if err := s.Append(first); err != nil {
			t.Fatal(err)
		}
		if err := s.Append([]*convertor.UsageEvent{last}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		// A crash mid-write leaves the last record short.
		segs, _ := filepath.Glob(filepath.Join(dir, "*.spool"))
		if len(segs) != 1 {
			t.Fatalf("segments = %v, want one", segs)
		}
		fi, err := os.Stat(segs[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(segs[0], fi.Size()-int64(cut)); err != nil {
			t.Fatal(err)
		}

		s2 := openSpool(t, dir, events.SpoolOptions{})
		if got := s2.Len(); got != len(first) {
			t.Errorf("cut %d: Len() after torn write = %d, want %d", cut, got, len(first))
		}
		// Records appended after recovery must not hide behind the torn one.
		after := testEvent(t, 100)
		if err := s2.Append([]*convertor.UsageEvent{after}); err != nil {
			t.Fatal(err)
		}
		want := append(idsOf(first), after.ID)
		if got := replayAll(t, s2); !slices.Equal(got, want) {
			t.Errorf("cut %d: Replay() = %v, want %v", cut, got, want)
		}
	}
}

func TestSpool_CorruptRecord(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := events.OpenSpool(dir, events.SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs := testEvents(t, 3)
	for _, ev := range evs {
		if err := s.Append([]*convertor.UsageEvent{ev}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.spool"))
	b, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-3] ^= 0xff // flip a byte of the last payload: its CRC no longer matches
	if err := os.WriteFile(segs[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := openSpool(t, dir, events.SpoolOptions{})
	if got, want := replayAll(t, s2), idsOf(evs[:2]); !slices.Equal(got, want) {
		t.Errorf("Replay() = %v, want the records before the corrupt one %v", got, want)
	}
}

func TestSpool_ConcurrentAppend(t *testing.T) {
	t.Parallel()
	s := openSpool(t, t.TempDir(), events.SpoolOptions{SegmentSize: 4096})
	const writers, per = 8, 40
	all := make([][]*convertor.UsageEvent, writers)
	var wg sync.WaitGroup
	for w := range writers {
		all[w] = testEvents(t, per)
		wg.Go(func() {
			for chunk := range slices.Chunk(all[w], 3) {
				if err := s.Append(chunk); err != nil {
					t.Errorf("Append() error = %v", err)
					return
				}
			}
		})
	}
	// Replays race the appends: nothing may be lost or torn either way.
	var replayed []string
	var rmu sync.Mutex
	wg.Go(func() {
		for range 5 {
			if _, err := s.Replay(func(evs []*convertor.UsageEvent) error {
				rmu.Lock()
				replayed = append(replayed, idsOf(evs)...)
				rmu.Unlock()
				return nil
			}); err != nil {
				t.Errorf("Replay() error = %v", err)
			}
		}
	})
	wg.Wait()
	replayed = append(replayed, replayAll(t, s)...)
	if len(replayed) != writers*per {
		t.Fatalf("replayed %d events, want %d", len(replayed), writers*per)
	}
	index := make(map[string]int)
	for i, id := range replayed {
		if _, dup := index[id]; dup {
			t.Fatalf("event %s replayed twice", id)
		}
		index[id] = i
	}
	// Each writer's events come back in the order it appended them.
	for w := range writers {
		for i := 1; i < per; i++ {
			if index[all[w][i].ID] < index[all[w][i-1].ID] {
				t.Fatalf("writer %d: event %d replayed before event %d", w, i, i-1)
			}
		}
	}
}

func TestSpool_ReplayIdempotent(t *testing.T) {
	t.Parallel()
	s := openSpool(t, t.TempDir(), events.SpoolOptions{SegmentSize: 1024})
	evs := testEvents(t, 40)
	for chunk := range slices.Chunk(evs, 5) {
		if err := s.Append(chunk); err != nil {
			t.Fatal(err)
		}
	}
	errBus := errors.New("bus down")
	var got []string
	calls := 0
	n, err := s.Replay(func(evs []*convertor.UsageEvent) error {
		calls++
		if calls == 3 {
			return errBus
		}
		got = append(got, idsOf(evs)...)
		return nil
	})
	if !errors.Is(err, errBus) {
		t.Fatalf("Replay() error = %v, want %v", err, errBus)
	}
	if n != len(got) {
		t.Errorf("Replay() = %d, want the %d events fn accepted", n, len(got))
	}
	if s.Len() == 0 {
		t.Fatal("Len() = 0 after a failed replay, want the unsent events kept")
	}
	// The retry delivers everything; events of the failed segment come
	// again (consumers dedupe by id), none is lost, order holds.
	got = append(got, replayAll(t, s)...)
	seen := make(map[string]bool)
	var unique []string
	for _, id := range got {
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	if want := idsOf(evs); !slices.Equal(unique, want) {
		t.Errorf("replayed ids = %v, want %v", unique, want)
	}
	if got := s.Len(); got != 0 {
		t.Errorf("Len() = %d after a full replay, want 0", got)
	}
}

func TestSpool_Full(t *testing.T) {
	t.Parallel()
	s := openSpool(t, t.TempDir(), events.SpoolOptions{MaxBytes: 2000})
	var err error
	for i := 0; err == nil && i < 100; i++ {
		err = s.Append([]*convertor.UsageEvent{testEvent(t, i)})
	}
	if !errors.Is(err, events.ErrSpoolFull) {
		t.Fatalf("Append() past MaxBytes error = %v, want ErrSpoolFull", err)
	}
}
