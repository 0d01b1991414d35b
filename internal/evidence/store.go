package evidence

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Entry describes one stored evidence (a line of the local index).
type Entry struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // nro | nrr
	Code Code   `json:"code"`
	// Event is the eHDSI event (EHDSI-32 …).
	Event string `json:"event"`
	// MessageID is the message the evidence is about; RequestMessageID the
	// request of the transaction (the same for NRR), to find the audit
	// record.
	MessageID        string    `json:"messageId,omitempty"`
	RequestMessageID string    `json:"requestMessageId,omitempty"`
	Partner          string    `json:"partner,omitempty"`
	Time             time.Time `json:"time"`
	// File is the path under the store's directory (or the object key).
	File string `json:"file"`
	// SHA256 is the hex SHA-256 of the stored bytes.
	SHA256 string `json:"sha256"`
	// Seq is the line's number in the local index (1 for the first) and
	// Prev the hex SHA-256 of the previous line as stored (without its
	// newline; empty on the first): a hash chain, so a line removed,
	// inserted or edited anywhere but at the tail breaks it. The tail is
	// pinned by the audit chain (audit.Event.Evidence). Set by FileStore.
	Seq  int64  `json:"seq,omitempty"`
	Prev string `json:"prev,omitempty"`
}

// Name is the file name (and key suffix) of an entry:
// YYYY/MM/DD/<time>_<nro|nrr>_<id>.xml.
func (e Entry) Name() string {
	id := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			return c
		}
		return '_'
	}, e.ID)
	return e.Time.UTC().Format("2006/01/02/20060102T150405.000Z") + "_" + e.Kind + "_" + id + ".xml"
}

// Store keeps signed evidence durably: Put returns once data is stored
// and can no longer be overwritten. FileStore locally, s3store.Store on AWS.
type Store interface {
	Put(ctx context.Context, e Entry, data []byte) error
}

// IndexFile is the local store's append-only index, one JSON Entry a line.
const IndexFile = "index.jsonl"

// Dir is the local evidence directory of a state directory, beside the
// audit trail (<state>/audit).
func Dir(stateDir string) string { return filepath.Join(stateDir, "evidence") }

// FileStore is the local twin: one read-only file per evidence under Dir
// (YYYY/MM/DD/…), written to a temporary file, fsync'd and linked into
// place (never over an existing file), then a line appended to the
// fsync'd index, chained to the line before (Entry.Seq, Entry.Prev). One
// process writes a directory at a time.
type FileStore struct {
	Dir string
	mu  sync.Mutex
	// head: the last index line's number and hash, read on the first Put.
	head *indexHead
}

type indexHead struct {
	seq  int64
	hash string
}

// lineHash is the chain hash of an index line (without its newline).
func lineHash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// readHead reads the number and hash of the index's last line.
func readHead(dir string) (*indexHead, error) {
	f, err := os.Open(filepath.Join(dir, IndexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &indexHead{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(0, st.Size()-maxLine)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, err
	}
	buf = bytes.TrimRight(buf, "\n")
	if len(buf) == 0 {
		return &indexHead{}, nil
	}
	last := buf[bytes.LastIndexByte(buf, '\n')+1:]
	var e Entry
	if err := json.Unmarshal(last, &e); err != nil {
		return nil, fmt.Errorf("%s: the last line: %w", IndexFile, err)
	}
	if e.Seq < 1 { // an index written before the chain: continue after it
		data, err := os.ReadFile(f.Name())
		if err != nil {
			return nil, err
		}
		e.Seq = int64(bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n")) + 1)
	}
	return &indexHead{seq: e.Seq, hash: lineHash(last)}, nil
}

// maxLine bounds an index line (ReadIndex's limit too).
const maxLine = 1 << 20

var _ Store = (*FileStore)(nil)

// Put stores data as e.Name() and indexes it.
func (s *FileStore) Put(_ context.Context, e Entry, data []byte) error {
	sum := sha256.Sum256(data)
	e.SHA256 = hex.EncodeToString(sum[:])
	e.File = e.Name()
	final := filepath.Join(s.Dir, filepath.FromSlash(e.File))
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("evidence store: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head == nil {
		h, err := readHead(s.Dir)
		if err != nil {
			return fmt.Errorf("evidence store: index: %w", err)
		}
		s.head = h
	}
	e.Seq, e.Prev = s.head.seq+1, s.head.hash
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("evidence store: %w", err)
	}
	tmp := final + ".tmp"
	if err := writeSync(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o400, data); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("evidence store: %w", err)
	}
	err = os.Link(tmp, final) // fails if the file exists: append-only
	os.Remove(tmp)
	if err != nil {
		return fmt.Errorf("evidence store: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("evidence store: %w", err)
	}
	if err := writeSync(filepath.Join(s.Dir, IndexFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600, append(line, '\n')); err != nil {
		s.head = nil // unknown whether the line landed: read it again
		return fmt.Errorf("evidence store: index: %w", err)
	}
	s.head = &indexHead{seq: e.Seq, hash: lineHash(line)}
	return syncDir(s.Dir)
}

func writeSync(name string, flag int, perm os.FileMode, data []byte) error {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ReadIndex returns the entries of a local evidence directory, oldest
// first. A missing index is an empty store.
func ReadIndex(dir string) ([]Entry, error) {
	entries, _, err := readIndex(dir)
	return entries, err
}

// readIndex also returns each line's chain hash (lineHash).
func readIndex(dir string) ([]Entry, []string, error) {
	data, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var out []Entry
	var hashes []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return out, hashes, fmt.Errorf("%s line %d: %w", IndexFile, n, err)
		}
		out = append(out, e)
		hashes = append(hashes, lineHash(sc.Bytes()))
	}
	return out, hashes, sc.Err()
}

// Files lists the evidence files under dir (slash-separated, relative),
// sorted.
func Files(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".xml") {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
