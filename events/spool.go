package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/openai-api-convertor/convertor"
)

// Spool defaults.
const (
	DefaultSpoolSegmentSize = 64 << 20
	DefaultSpoolMaxBytes    = 1 << 30
	// spoolRecordMax bounds one record; a usage event is a few hundred
	// bytes, so a bigger length field can only be a torn or corrupt header.
	spoolRecordMax = 1 << 20
	// spoolHeader is a record's length and CRC-32C, both big-endian uint32.
	spoolHeader = 8
	// spoolReplayChunk is the most events one Replay callback gets.
	spoolReplayChunk = 500
	spoolExt         = ".spool"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrSpoolFull is returned by Append when the spool holds MaxBytes already.
var ErrSpoolFull = errors.New("events: spool full")

// SpoolOptions tunes a Spool. Zero fields take their defaults.
type SpoolOptions struct {
	// SegmentSize is the size past which Append starts a new segment file.
	SegmentSize int64
	// MaxBytes bounds the spool on disk, so a long bus outage fills the
	// spool rather than the disk.
	MaxBytes int64
	Log      *slog.Logger
}

// Spool is a local append-only store of usage events for when the bus is
// down: segment files of records (length, CRC-32C, wire-format event),
// fsynced per Append. A record torn by a crash fails its length or CRC
// check and is dropped (with a log line) when the spool is opened, before
// anything is appended after it. Safe for concurrent use; one process per
// directory (an exclusive lock file enforces it).
type Spool struct {
	dir  string
	opts SpoolOptions
	log  *slog.Logger
	lock *os.File

	replayMu sync.Mutex // one Replay at a time

	mu         sync.Mutex // guards the fields below
	active     *os.File   // segment being appended to; nil until the first Append after open or a seal
	activeSeq  uint64
	activeSize int64
	activeRecs int
	nextSeq    uint64
	sealed     []spoolSegment // older segments, oldest first
	bytes      int64
	records    int
	closed     bool
}

type spoolSegment struct {
	seq     uint64
	size    int64
	records int
}

// OpenSpool opens (creating) the spool in dir and recovers it from a crash:
// a torn last record is cut off so new records follow valid ones.
func OpenSpool(dir string, opts SpoolOptions) (*Spool, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSpoolSegmentSize
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultSpoolMaxBytes
	}
	s := &Spool{dir: dir, opts: opts, log: orDiscard(opts.Log).With("spool", dir)}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open spool %s: in use by another process: %w", dir, err)
	}
	s.lock = lock
	if err := s.recover(); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

// recover scans the existing segments, cutting torn tails and removing
// empty segments.
func (s *Spool) recover() error {
	seqs, err := s.segments()
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		path := s.path(seq)
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("open spool: %w", err)
		}
		evs, valid, bad := decodeSegment(b)
		if bad != nil {
			s.log.Warn("spool: torn or corrupt record ignored; segment cut after its last valid record",
				"segment", filepath.Base(path), "offset", valid, "dropped_bytes", len(b)-valid, "error", bad)
			if err := os.Truncate(path, int64(valid)); err != nil {
				return fmt.Errorf("open spool: cut %s: %w", path, err)
			}
		}
		if valid == 0 {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("open spool: %w", err)
			}
			continue
		}
		s.sealed = append(s.sealed, spoolSegment{seq: seq, size: int64(valid), records: len(evs)})
		s.bytes += int64(valid)
		s.records += len(evs)
	}
	if len(seqs) > 0 {
		s.nextSeq = seqs[len(seqs)-1] + 1
	}
	return nil
}

// segments lists the segment sequence numbers in dir, oldest first.
func (s *Spool) segments() ([]uint64, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), spoolExt)
		if !ok || e.IsDir() {
			continue
		}
		seq, err := strconv.ParseUint(name, 16, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return seqs, nil
}

func (s *Spool) path(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%016x%s", seq, spoolExt))
}

// Append writes evs durably (one write and one fsync for the batch) or not
// at all. Returns ErrSpoolFull when the spool would exceed MaxBytes.
func (s *Spool) Append(evs []*convertor.UsageEvent) error {
	if len(evs) == 0 {
		return nil
	}
	var buf []byte
	for _, ev := range evs {
		b, err := Marshal(ev)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(b, crcTable))
		buf = append(buf, b...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("spool: closed")
	}
	if s.bytes+int64(len(buf)) > s.opts.MaxBytes {
		return fmt.Errorf("spool %d events: %w (%d bytes)", len(evs), ErrSpoolFull, s.bytes)
	}
	if s.active != nil && s.activeSize > 0 && s.activeSize+int64(len(buf)) > s.opts.SegmentSize {
		if err := s.seal(); err != nil {
			return err
		}
	}
	if s.active == nil {
		f, err := os.OpenFile(s.path(s.nextSeq), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.active, s.activeSeq, s.activeSize, s.activeRecs = f, s.nextSeq, 0, 0
		s.nextSeq++
	}
	if _, err := s.active.Write(buf); err != nil {
		s.undo()
		return fmt.Errorf("spool: write: %w", err)
	}
	if err := s.active.Sync(); err != nil {
		s.undo()
		return fmt.Errorf("spool: fsync: %w", err)
	}
	s.activeSize += int64(len(buf))
	s.activeRecs += len(evs)
	s.bytes += int64(len(buf))
	s.records += len(evs)
	return nil
}

// undo cuts a failed write off the active segment, so that a partial
// record is not followed by the next Append's. s.mu must be held.
func (s *Spool) undo() {
	if err := s.active.Truncate(s.activeSize); err != nil {
		// The tail stays torn; the next open cuts it. Appending after it
		// would hide later records behind it, so start a new segment.
		s.log.Error("spool: cannot cut a failed write; starting a new segment", "error", err)
		s.active.Close()
		s.active = nil
		if s.activeSize > 0 {
			s.sealed = append(s.sealed, spoolSegment{seq: s.activeSeq, size: s.activeSize, records: s.activeRecs})
		}
	}
}

// seal closes the active segment and queues it for Replay. s.mu must be
// held.
func (s *Spool) seal() error {
	if s.active == nil {
		return nil
	}
	err := s.active.Close()
	s.active = nil
	if s.activeSize > 0 {
		s.sealed = append(s.sealed, spoolSegment{seq: s.activeSeq, size: s.activeSize, records: s.activeRecs})
	} else {
		os.Remove(s.path(s.activeSeq))
	}
	if err != nil {
		return fmt.Errorf("spool: close segment: %w", err)
	}
	return nil
}

// Len returns how many events the spool holds.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

// Replay hands every spooled event to fn, oldest first, in chunks, and
// deletes a segment only once fn has accepted all of it. When fn fails,
// Replay stops and returns its error; the segment stays, so its events are
// replayed again next time (consumers dedupe on event id). Appends made
// during a Replay go to a new segment, left for the next one. It returns
// how many events fn accepted.
func (s *Spool) Replay(fn func([]*convertor.UsageEvent) error) (int, error) {
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, errors.New("spool: closed")
	}
	if err := s.seal(); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	segs := slices.Clone(s.sealed)
	s.mu.Unlock()

	done := 0
	for _, seg := range segs {
		n, err := s.replaySegment(seg, fn)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (s *Spool) replaySegment(seg spoolSegment, fn func([]*convertor.UsageEvent) error) (int, error) {
	path := s.path(seg.seq)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("spool replay: %w", err)
	}
	evs, valid, bad := decodeSegment(b)
	if bad != nil {
		// Only a failed cut leaves a torn record behind; what follows it
		// cannot be framed any more.
		s.log.Error("spool: corrupt record; the rest of the segment is lost",
			"segment", filepath.Base(path), "offset", valid, "dropped_bytes", len(b)-valid, "error", bad)
	}
	done := 0
	for chunk := range slices.Chunk(evs, spoolReplayChunk) {
		if err := fn(chunk); err != nil {
			return done, err
		}
		done += len(chunk)
	}
	if err := os.Remove(path); err != nil {
		return done, fmt.Errorf("spool replay: %w", err)
	}
	s.mu.Lock()
	s.sealed = slices.DeleteFunc(s.sealed, func(x spoolSegment) bool { return x.seq == seg.seq })
	s.bytes -= seg.size
	s.records -= seg.records
	s.mu.Unlock()
	return done, nil
}

// decodeSegment returns the events of a segment, the length of its valid
// prefix and, when there is more, why the rest is not valid.
func decodeSegment(b []byte) (evs []*convertor.UsageEvent, valid int, bad error) {
	for off := 0; off < len(b); {
		if len(b)-off < spoolHeader {
			return evs, off, fmt.Errorf("record header torn: %d of %d bytes", len(b)-off, spoolHeader)
		}
		n := int(binary.BigEndian.Uint32(b[off:]))
		sum := binary.BigEndian.Uint32(b[off+4:])
		if n == 0 || n > spoolRecordMax {
			return evs, off, fmt.Errorf("record length %d out of range", n)
		}
		if len(b)-off-spoolHeader < n {
			return evs, off, fmt.Errorf("record torn: %d of %d bytes", len(b)-off-spoolHeader, n)
		}
		payload := b[off+spoolHeader : off+spoolHeader+n]
		if crc32.Checksum(payload, crcTable) != sum {
			return evs, off, errors.New("record checksum mismatch")
		}
		ev, err := Unmarshal(payload)
		if err != nil {
			// The CRC matched, so the bytes are what was written: an event
			// Marshal accepted. Only a schema change can get here.
			return evs, off, err
		}
		evs = append(evs, ev)
		off += spoolHeader + n
	}
	return evs, len(b), nil
}

// Close closes the spool; it can be opened again.
func (s *Spool) Close() error {
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.seal()
	return errors.Join(err, s.lock.Close())
}
