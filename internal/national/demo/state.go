package demo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// StateFile is the name of the append-only dispensation log in the state
// directory.
const StateFile = "dispenses.jsonl"

// dispenseRec is one recorded MedicationDispense.
type dispenseRec struct {
	key          string
	id           string
	prescription string // MedicationRequest id
	resource     json.RawMessage
	cancelled    bool
}

// logLine is one line of the state file.
type logLine struct {
	Op           string          `json:"op"` // create | cancel
	Key          string          `json:"key"`
	Prescription string          `json:"prescription,omitempty"`
	Resource     json.RawMessage `json:"resource,omitempty"`
}

// store holds the dispensations; every method is called with mu held.
type store struct {
	mu      sync.Mutex
	f       *os.File // nil: in memory only
	byKey   map[string]*dispenseRec
	byID    map[string]*dispenseRec
	ordered []*dispenseRec // creation order
}

func dispenseID(key string) string {
	h := sha256.Sum256([]byte(key))
	return "md-" + hex.EncodeToString(h[:8])
}

func openStore(dir string) (*store, error) {
	s := &store{byKey: map[string]*dispenseRec{}, byID: map[string]*dispenseRec{}}
	if dir == "" {
		return s, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo state dir: %w", err)
	}
	name := filepath.Join(dir, StateFile)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("demo state: %w", err)
	}
	if err := s.replay(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("demo state %s: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	s.f = f
	return s, nil
}

// replay reads the log; a torn last line (a crash while appending, before
// the fsync that would have acknowledged it) is cut off.
func (s *store) replay(f *os.File) error {
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	good := 0
	r := bufio.NewReader(bytes.NewReader(data))
	for lineNo := 1; ; lineNo++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break // no newline: torn (or empty) tail
		}
		var l logLine
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("line %d: %w", lineNo, err)
		}
		if err := s.apply(l); err != nil {
			return fmt.Errorf("line %d: %w", lineNo, err)
		}
		good += len(line)
	}
	if good != len(data) {
		if err := f.Truncate(int64(good)); err != nil {
			return err
		}
	}
	_, err = f.Seek(int64(good), io.SeekStart)
	return err
}

func (s *store) apply(l logLine) error {
	switch l.Op {
	case "create":
		if s.byKey[l.Key] != nil {
			return fmt.Errorf("key recorded twice")
		}
		d := &dispenseRec{key: l.Key, id: dispenseID(l.Key), prescription: l.Prescription, resource: l.Resource}
		s.byKey[l.Key] = d
		s.byID[d.id] = d
		s.ordered = append(s.ordered, d)
	case "cancel":
		d := s.byKey[l.Key]
		if d == nil {
			return fmt.Errorf("cancel of an unknown key")
		}
		d.cancelled = true
		d.resource = l.Resource
	default:
		return fmt.Errorf("unknown op %q", l.Op)
	}
	return nil
}

// record makes l durable (fsync) and then applies it.
func (s *store) record(l logLine) error {
	if s.f != nil {
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		if _, err := s.f.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("demo state write: %w", err)
		}
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("demo state fsync: %w", err)
		}
	}
	return s.apply(l)
}

// active counts the dispensations of a prescription that are not cancelled.
func (s *store) active(prescription string) int {
	n := 0
	for _, d := range s.ordered {
		if d.prescription == prescription && !d.cancelled {
			n++
		}
	}
	return n
}

func (s *store) close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("demo state dir fsync: %w", err)
	}
	return nil
}
