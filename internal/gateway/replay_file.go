package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// FileReplayGuard is the local ReplayGuard that survives restarts: every
// new MessageID is appended to a file and fsync'd before the request goes
// on, and the file is read back at start. It is bounded like the memory
// guard (Max entries; full, it refuses new ids; entries expire with
// the assertion window) and compacted when the file holds more than twice
// the live entries. One process per file.
//
// The file holds one line per id: the expiry in Unix nanoseconds and the
// SHA-256 of the id (ids are the partner's text: hashing bounds and
// neutralises them).
type FileReplayGuard struct {
	Max int
	Now func() time.Time

	mu    sync.Mutex // guards the fields below but flushMu
	path  string
	f     *os.File
	lines int
	idx   replayIndex
	// Group commit: written counts the lines appended, synced those known
	// durable; a Seen waits until synced covers its line, and one fsync
	// (under flushMu, one at a time) covers every line written before it.
	written, synced int64
	flushMu         sync.Mutex // taken before mu, never after
	// torn: a write or an fsync of the file failed. After a failed fsync
	// the kernel may have dropped the dirty pages and a later fsync of the
	// same file reports success without them; a failed write may have
	// left a partial line that the next line would be glued to. Either
	// way the file no longer holds what the index does: the next flush
	// rewrites it from the index (compact) instead of fsyncing it.
	torn bool
}

// syncFile and writeFile are (*os.File).Sync and Write; tests replace
// them to make them fail.
var (
	syncFile  = (*os.File).Sync
	writeFile = (*os.File).Write
)

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = syncFile(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

var _ ReplayGuard = (*FileReplayGuard)(nil)

// OpenFileReplayGuard opens (or creates) the guard's file at path. max 0
// is DefaultReplayMax; now nil is the system clock.
func OpenFileReplayGuard(path string, max int, now func() time.Time) (*FileReplayGuard, error) {
	g := &FileReplayGuard{Max: max, Now: now, path: path}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("replay guard: %w", err)
	}
	// Read line by line: a full guard's file is tens of megabytes.
	f, err := os.Open(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("replay guard: %w", err)
	}
	t := clock.Or(now)()
	if f != nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			exp, key, ok := parseReplayLine(sc.Bytes())
			if !ok || !t.Before(exp) {
				continue // expired, or a torn last line
			}
			if !g.idx.seen(key, t) {
				// Every unexpired id read is held, even beyond Max (a file
				// written under a larger one): forgetting one would let
				// its message be replayed; the guard refuses new ids until
				// enough expire.
				g.idx.add(key, exp, t, math.MaxInt)
			}
		}
		err := sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("replay guard: %s: %w", path, err)
		}
	}
	if err := g.compact(t); err != nil {
		return nil, err
	}
	return g, nil
}

// parseReplayLine reads a line of the file: the expiry in Unix nanoseconds
// and, in hex, the id's SHA-256 (as Seen writes it) or its first 16 bytes
// (as compact writes it: all the index keeps).
func parseReplayLine(line []byte) (time.Time, replayKey, bool) {
	var key replayKey
	ns, h, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(h) != 2*sha256.Size && len(h) != 2*len(key) {
		return time.Time{}, key, false
	}
	n, err := strconv.ParseInt(string(ns), 10, 64)
	if err != nil {
		return time.Time{}, key, false
	}
	var sum [sha256.Size]byte
	if _, err := hex.Decode(sum[:len(h)/2], h); err != nil {
		return time.Time{}, key, false
	}
	return time.Unix(0, n), replayKey(sum[:len(key)]), true
}

// appendReplayLine appends a line of the file: the expiry in Unix
// nanoseconds and the hash in hex.
func appendReplayLine(b []byte, hash []byte, exp int64) []byte {
	b = strconv.AppendInt(b, exp, 10)
	b = append(b, ' ')
	b = hex.AppendEncode(b, hash)
	return append(b, '\n')
}

// compact rewrites the file with the live entries (atomically) and
// reopens it for appending.
func (g *FileReplayGuard) compact(now time.Time) error {
	tmp := g.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("replay guard: %w", err)
	}
	w := bufio.NewWriter(f)
	n := 0
	var line []byte
	g.idx.each(now, func(key replayKey, exp int64) {
		line = appendReplayLine(line[:0], key[:], exp)
		w.Write(line)
		n++
	})
	if err := w.Flush(); err == nil {
		err = syncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, g.path)
	}
	if err == nil {
		// The rename itself durable: until the directory is, a crash may
		// bring back the old file, without the lines not yet fsync'd
		// that this rewrite is answering for.
		err = syncDir(filepath.Dir(g.path))
	}
	if err != nil {
		return fmt.Errorf("replay guard: compact: %w", err)
	}
	if g.f != nil {
		g.f.Close()
	}
	if g.f, err = os.OpenFile(g.path, os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return fmt.Errorf("replay guard: %w", err)
	}
	g.lines = n
	return nil
}

// Seen implements ReplayGuard: a new id is durable before it returns.
// The check and the append are one step under the lock (two requests with
// the same id: the second is a replay, even while the first waits for its
// fsync); concurrent new ids share one fsync (group commit) instead of
// queueing one fsync each behind the lock. An id whose fsync failed stays
// known in memory (the request is refused with the error; a retry with
// the same MessageID is refused as a replay: fail closed).
func (g *FileReplayGuard) Seen(ctx context.Context, id string, expiry time.Time) (bool, error) {
	sum := sha256.Sum256([]byte(id))
	key := replayKey(sum[:16])
	t := clock.Or(g.Now)()
	g.mu.Lock()
	if g.idx.seen(key, t) {
		g.mu.Unlock()
		return true, nil
	}
	if g.f == nil {
		g.mu.Unlock()
		return false, fmt.Errorf("replay guard: %s is closed", g.path)
	}
	if err := g.idx.add(key, expiry, t, g.Max); err != nil {
		g.mu.Unlock()
		return false, fmt.Errorf("replay guard %s: %w", g.path, err)
	}
	if _, err := writeFile(g.f, appendReplayLine(make([]byte, 0, 96), sum[:], expiry.UnixNano())); err != nil {
		g.torn = true // perhaps a partial line (disk full); the id stays held
		g.mu.Unlock()
		return false, fmt.Errorf("replay guard: %w", err)
	}
	g.lines++
	g.written++
	ticket, compact := g.written, g.lines > 2*len(g.idx.m)+1024
	g.mu.Unlock()
	if compact {
		return false, g.flush(ticket, t, true)
	}
	return false, g.flush(ticket, t, false)
}

// flush returns once line ticket is durable: fsyncing the file (every line
// written so far) unless a flush since covered it; compact, or a torn file
// (a write or fsync failed since the last rewrite), rewrites the file with
// the live entries instead (itself fsync'd).
func (g *FileReplayGuard) flush(ticket int64, now time.Time, compact bool) error {
	g.flushMu.Lock()
	defer g.flushMu.Unlock()
	g.mu.Lock()
	if g.torn && g.synced < ticket || compact && g.lines > 2*len(g.idx.m)+1024 {
		defer g.mu.Unlock()
		if g.f == nil {
			return fmt.Errorf("replay guard: %s is closed", g.path)
		}
		upTo := g.written
		if err := g.compact(now); err != nil {
			return err
		}
		g.synced, g.torn = max(g.synced, upTo), false
		return nil
	}
	if g.synced >= ticket {
		g.mu.Unlock()
		return nil
	}
	f, upTo := g.f, g.written
	g.mu.Unlock()
	if f == nil {
		return fmt.Errorf("replay guard: %s is closed", g.path)
	}
	if err := syncFile(f); err != nil {
		g.mu.Lock()
		g.torn = true
		g.mu.Unlock()
		return fmt.Errorf("replay guard: %w", err)
	}
	g.mu.Lock()
	g.synced = max(g.synced, upTo)
	g.mu.Unlock()
	return nil
}

// Close closes the file.
func (g *FileReplayGuard) Close() error {
	g.flushMu.Lock()
	defer g.flushMu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.f == nil {
		return nil
	}
	err := g.f.Close()
	g.f = nil
	return err
}
