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
	"sync/atomic"
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
// (YYYY/MM/DD/…), written to a temporary file, fsync'd and moved into
// place (never over an existing file: place), its directory fsync'd, then a line
// appended to the fsync'd index, chained to the line before (Entry.Seq,
// Entry.Prev). Put returns once the file and its index line are on disk.
// Concurrent Puts share the directory and index fsyncs (group commit, as
// the audit chain's FileSink): each waits for the first flush that covers
// its own writes. One process writes a directory at a time.
type FileStore struct {
	Dir string
	mu  sync.Mutex // guards head; serialises index appends
	// head: the last index line's number and hash, read on the first Put.
	head *indexHead
	// dirs groups the fsyncs of the evidence directories, index those of
	// the index file.
	dirs, index syncGroup
	known       sync.Map // day directories whose parents are on disk
	// indexFile is the index, opened for appending on the first Put and
	// kept (written under mu, fsync'd by the index flushes).
	indexFile atomic.Pointer[os.File]
	// fsync replaces fsyncPath in tests (counting, failing).
	fsync func(path string) error
	// linkOnly: files are placed by link and unlink even where renameat2
	// could (tests of the portable path).
	linkOnly bool
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

// tornSuffix names the bytes of a torn last index line, moved aside.
const tornSuffix = ".torn-"

// readHead reads the number and hash of the index's last line. A last line
// without its newline was never acknowledged (Put returns only after the
// whole line is fsync'd): a crash, or a failed write, cut it. Its bytes are
// moved aside to index.jsonl.torn-<offset> and the index continues after
// the last complete line (CheckDir then lists its file as not indexed).
func readHead(dir string) (*indexHead, error) {
	name := filepath.Join(dir, IndexFile)
	f, err := os.Open(name)
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
	if len(buf) > 0 && buf[len(buf)-1] != '\n' {
		cut := bytes.LastIndexByte(buf, '\n') + 1
		if cut == 0 && off > 0 {
			return nil, fmt.Errorf("%s: the last line is longer than %d bytes and has no end: not an index line; check the directory (luxncp evidence check)", IndexFile, maxLine)
		}
		if err := moveTorn(name, buf[cut:], off+int64(cut)); err != nil {
			return nil, fmt.Errorf("%s: torn last line: %w", IndexFile, err)
		}
		buf = buf[:cut]
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

// moveTorn saves torn (the bytes of the index from offset cut on) beside
// the index, fsync'd, then truncates the index to cut and fsyncs it.
func moveTorn(name string, torn []byte, cut int64) error {
	side := fmt.Sprintf("%s%s%d", name, tornSuffix, cut)
	if err := writeSync(side, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400, torn); err != nil {
		return fmt.Errorf("save the torn line: %w", err)
	}
	if err := syncDir(filepath.Dir(name)); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(cut); err != nil {
		return fmt.Errorf("cut the torn line: %w", err)
	}
	return f.Sync()
}

// maxLine bounds an index line (ReadIndex's limit too).
const maxLine = 1 << 20

var _ Store = (*FileStore)(nil)

// Put stores data as e.Name() and indexes it. The evidence file is written
// and fsync'd without a lock (concurrent Puts overlap); its directory entry
// is made durable by a shared directory fsync before the index line is
// written, so an index line on disk always names a file on disk; the index
// line is appended under the lock (the chain's order) and made durable by
// a shared index fsync.
func (s *FileStore) Put(ctx context.Context, e Entry, data []byte) error {
	return s.PutAll(ctx, []Item{{Entry: e, Data: data}})
}

// Item is one evidence of a PutAll.
type Item struct {
	Entry Entry
	Data  []byte
}

// BatchStore is a Store that stores several evidences at once (a
// transaction's NRR and NRO): durable, each, when PutAll returns.
type BatchStore interface {
	Store
	PutAll(ctx context.Context, items []Item) error
}

var _ BatchStore = (*FileStore)(nil)

// PutAll stores the items as Put does, sharing one directory fsync wait
// and one index append and fsync wait among them (a transaction's NRR and
// NRO: four fsyncs instead of six). Each file is fsync'd before any index
// line is written; the lines are appended in order, chained; PutAll
// returns once every file and line is on disk. On an error, files already
// linked stay (never indexed: CheckDir lists them as not indexed, as a
// crash between the link and the index would leave them).
func (s *FileStore) PutAll(_ context.Context, items []Item) error {
	var dirs []string
	for i := range items {
		e := &items[i].Entry
		sum := sha256.Sum256(items[i].Data)
		e.SHA256 = hex.EncodeToString(sum[:])
		e.File = e.Name()
		final := filepath.Join(s.Dir, filepath.FromSlash(e.File))
		dir := filepath.Dir(final)
		if len(dirs) == 0 || dirs[len(dirs)-1] != dir {
			dirs = append(dirs, dir)
		}
		tmp := final + ".tmp"
		err := createSync(tmp, items[i].Data)
		if errors.Is(err, fs.ErrNotExist) { // a new day: its directory first
			if err = os.MkdirAll(dir, 0o700); err == nil {
				err = createSync(tmp, items[i].Data)
			}
		}
		if err != nil {
			os.Remove(tmp)
			return fmt.Errorf("evidence store: %w", err)
		}
		if err := s.place(tmp, final); err != nil {
			return fmt.Errorf("evidence store: %w", err)
		}
	}
	if err := s.syncDirs(dirs...); err != nil {
		return fmt.Errorf("evidence store: %w", err)
	}
	ticket, err := s.appendIndex(items)
	if err != nil {
		return fmt.Errorf("evidence store: index: %w", err)
	}
	if err := s.index.wait(ticket, s.sync); err != nil {
		return fmt.Errorf("evidence store: index: %w", err)
	}
	return nil
}

// place gives the written and fsync'd file tmp its final name, failing if
// that name exists (append-only): one renameat2 without replacing where
// the filesystem has it, else a link and an unlink. Either way the final
// name appears at once, naming the whole file, or not at all; tmp is gone
// afterwards.
func (s *FileStore) place(tmp, final string) error {
	if !s.linkOnly {
		err := renameNoReplace(tmp, final)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errors.ErrUnsupported) {
			os.Remove(tmp)
			return err
		}
	}
	err := os.Link(tmp, final) // fails if the file exists: append-only
	os.Remove(tmp)
	return err
}

// syncDirs returns once the entries of dirs are on disk, and the entries
// naming each dir and its parents up to s.Dir the first time (a new day).
func (s *FileStore) syncDirs(dirs ...string) error {
	paths := append([]string(nil), dirs...)
	var fresh []string
	for _, dir := range dirs {
		if _, known := s.known.Load(dir); known {
			continue
		}
		fresh = append(fresh, dir)
		rel, err := filepath.Rel(s.Dir, dir)
		if err != nil {
			return err
		}
		for p := dir; rel != "." && rel != string(filepath.Separator); rel = filepath.Dir(rel) {
			p = filepath.Dir(p)
			paths = append(paths, p)
		}
	}
	if err := s.dirs.wait(s.dirs.add(paths...), s.sync); err != nil {
		return err
	}
	for _, dir := range fresh {
		s.known.Store(dir, true)
	}
	return nil
}

// appendIndex chains the items' entries after the index's last line, in
// order, appends them in one write and returns the index flush that will
// cover them.
func (s *FileStore) appendIndex(items []Item) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := filepath.Join(s.Dir, IndexFile)
	if s.head == nil {
		h, err := readHead(s.Dir)
		if err != nil {
			return 0, err
		}
		s.head = h
	}
	head := *s.head
	var lines []byte
	for i := range items {
		e := &items[i].Entry
		e.Seq, e.Prev = head.seq+1, head.hash
		line, err := json.Marshal(e)
		if err != nil {
			return 0, err
		}
		lines = append(append(lines, line...), '\n')
		head = indexHead{seq: e.Seq, hash: lineHash(line)}
	}
	created := false
	if s.indexFile.Load() == nil { // opened once, kept for appends and fsyncs
		_, statErr := os.Lstat(name)
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return 0, err
		}
		s.indexFile.Store(f)
		created = statErr != nil
	}
	if _, err := s.indexFile.Load().Write(lines); err != nil {
		s.head = nil // unknown whether the lines landed: read them again (a torn line is moved aside)
		return 0, err
	}
	s.head = &head
	if created { // the index was created: its directory entry too
		return s.index.add(name, s.Dir), nil
	}
	return s.index.add(name), nil
}

func (s *FileStore) sync(path string) error {
	if s.fsync != nil {
		return s.fsync(path)
	}
	if f := s.indexFile.Load(); f != nil && path == f.Name() {
		return f.Sync()
	}
	return fsyncPath(path)
}

// Close closes the index file the store keeps open. A Put after Close
// opens it again.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.indexFile.Swap(nil); f != nil {
		return f.Close()
	}
	return nil
}

// syncGroup is a group commit of fsyncs: writers add the paths their
// writes touched and wait for the first flush that covers them; one flush
// fsyncs every path added since the last one, for all of them.
type syncGroup struct {
	mu      sync.Mutex // guards pending, next
	pending map[string]bool
	next    int64 // the flush being gathered (from 1)

	flushMu sync.Mutex // one flush at a time; guards done
	done    int64      // the last flush that succeeded
}

// add registers paths for the next flush and returns its number. Called
// after the writes it covers.
func (g *syncGroup) add(paths ...string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pending == nil {
		g.pending = map[string]bool{}
		g.next = max(g.next, 1)
	}
	for _, p := range paths {
		g.pending[p] = true
	}
	return g.next
}

// wait returns once flush ticket (and every one before it) succeeded,
// flushing itself when no one else has. A failed flush puts its paths
// back: the next waiter retries them, and the failing one reports it.
func (g *syncGroup) wait(ticket int64, fsync func(string) error) error {
	g.flushMu.Lock()
	defer g.flushMu.Unlock()
	if g.done >= ticket {
		return nil
	}
	g.mu.Lock()
	batch, n := g.pending, g.next
	g.pending, g.next = nil, n+1
	g.mu.Unlock()
	paths := make([]string, 0, len(batch))
	for p := range batch {
		paths = append(paths, p)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(paths))) // children before their parents
	for _, p := range paths {
		if err := fsync(p); err != nil {
			g.add(paths...)
			return err
		}
	}
	g.done = n
	return nil
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

func syncDir(dir string) error { return fsyncPath(dir) }

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
