package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// FileStore is the local Store: one JSON file per message under dir,
// written to a temporary file, fsync'd, renamed into place and the
// directory fsync'd, so an acknowledged message survives a crash. One
// process at a time may use a directory.
type FileStore struct {
	dir string
	mu  sync.Mutex
	// msgs is the in-memory index, loaded at open and reloaded when the
	// directory changes behind our back (an operator's replay).
	msgs    map[string]Message
	dirTime time.Time
}

var _ Store = (*FileStore)(nil)

// OpenFile opens (creating) the outbox in dir.
func OpenFile(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	s := &FileStore{dir: dir}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// load (re)reads every message file.
func (s *FileStore) load() error {
	st, err := os.Stat(s.dir)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	dir := s.dir
	msgs := map[string]Message{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			continue // an unfinished write was never acknowledged
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("outbox: %s: %w", name, err)
		}
		msgs[m.Key] = m
	}
	s.msgs, s.dirTime = msgs, st.ModTime()
	return nil
}

// refresh reloads when another process changed the directory.
func (s *FileStore) refresh() {
	if st, err := os.Stat(s.dir); err == nil && !st.ModTime().Equal(s.dirTime) {
		if err := s.load(); err == nil {
			return
		}
	}
}

func fileName(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:16]) + ".json"
}

func (s *FileStore) write(m Message) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	final := filepath.Join(s.dir, fileName(m.Key))
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return err
	}
	if st, err := os.Stat(s.dir); err == nil {
		s.dirTime = st.ModTime()
	}
	return nil
}

// Accept implements Ledger.
func (s *FileStore) Accept(ctx context.Context, m Message) (Message, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accept(m)
}

// accept is Accept with s.mu held.
func (s *FileStore) accept(m Message) (Message, bool, error) {
	if old, ok := s.msgs[m.Key]; ok {
		return old, false, nil
	}
	if m.State == "" {
		m.State = StatePending
	}
	if m.NextAttempt.IsZero() {
		m.NextAttempt = m.Accepted
	}
	if err := s.write(m); err != nil {
		return Message{}, false, fmt.Errorf("outbox: accept: %w", err)
	}
	s.msgs[m.Key] = m
	return m, true, nil
}

// Dispense implements Ledger: the reservation is computed from the
// messages themselves, under the store's lock (one process per directory).
func (s *FileStore) Dispense(ctx context.Context, m Message, r Reservation) (Message, Verdict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var existing *Message
	if old, ok := s.msgs[m.Key]; ok {
		existing = &old
	}
	_, discarded := s.msgs[CancelKey(m.Key)]
	v := admit(m, existing, discarded, s.reserved(m.PrescriptionID), r)
	if v != Accepted {
		if existing != nil {
			return *existing, v, nil
		}
		return Message{}, v, nil
	}
	stored, _, err := s.accept(m)
	if err != nil {
		return Message{}, 0, err
	}
	return stored, Accepted, nil
}

// reserved lists the dispensations holding a reservation on a
// prescription item (s.mu held).
func (s *FileStore) reserved(prescriptionID string) map[string]bool {
	out := map[string]bool{}
	for k, m := range s.msgs {
		if m.Kind != KindDispense || m.PrescriptionID != prescriptionID {
			continue
		}
		if holdsReservation(m, s.msgs[CancelKey(k)].State) {
			out[k] = true
		}
	}
	return out
}

// Get implements Ledger.
func (s *FileStore) Get(ctx context.Context, key string) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[key]
	if !ok {
		return Message{}, ErrNotFound
	}
	return m, nil
}

// Outstanding counts the pending dispensations of a prescription.
func (s *FileStore) Outstanding(ctx context.Context, prescriptionID string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return outstanding(slices.Collect(maps.Values(s.msgs)), prescriptionID), nil
}

// outstanding counts the pending dispensations of a prescription in msgs,
// less their pending discards (both stores).
func outstanding(msgs []Message, prescriptionID string) int {
	n := 0
	for _, m := range msgs {
		if m.PrescriptionID != prescriptionID || m.State != StatePending {
			continue
		}
		switch m.Kind {
		case KindDispense:
			n++
		case KindCancel:
			n--
		}
	}
	return n
}

func (s *FileStore) sorted(keep func(Message) bool) []Message {
	var out []Message
	for _, m := range s.msgs {
		if keep(m) {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Accepted.Equal(out[j].Accepted) {
			return out[i].Accepted.Before(out[j].Accepted)
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// Due implements Queue.
func (s *FileStore) Due(ctx context.Context, now time.Time, limit int) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	out := s.sorted(func(m Message) bool { return m.State == StatePending && !m.NextAttempt.After(now) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Update implements Queue.
func (s *FileStore) Update(ctx context.Context, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.msgs[m.Key]; !ok {
		return ErrNotFound
	}
	if err := s.write(m); err != nil {
		return fmt.Errorf("outbox: update: %w", err)
	}
	s.msgs[m.Key] = m
	return nil
}

// List implements Admin ("" lists every state).
func (s *FileStore) List(ctx context.Context, state State) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sorted(func(m Message) bool { return state == "" || m.State == state }), nil
}

// Replay implements Admin.
func (s *FileStore) Replay(ctx context.Context, key string) error {
	return s.fromDead(key, func(m *Message) {
		m.State, m.Attempts, m.NextAttempt, m.LastError = StatePending, 0, time.Time{}, ""
	})
}

// Resolve implements Admin.
func (s *FileStore) Resolve(ctx context.Context, key, note string) error {
	return s.fromDead(key, func(m *Message) {
		m.State, m.LastError = StateResolved, "resolved by an operator: "+note+" (was: "+m.LastError+")"
	})
}

// fromDead applies an operator's change to a dead message.
func (s *FileStore) fromDead(key string, change func(*Message)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[key]
	if !ok {
		return ErrNotFound
	}
	if m.State != StateDead {
		return fmt.Errorf("%w: %s is %s", ErrNotDead, key, m.State)
	}
	change(&m)
	if err := s.write(m); err != nil {
		return err
	}
	s.msgs[key] = m
	return nil
}
