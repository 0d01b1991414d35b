package countryb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/luxncp/luxncp/internal/wssec"
)

// Submitted is an eDispensation sent to another country through luxncp,
// kept so that the pharmacist can discard it later.
type Submitted struct {
	Country string          `json:"country"`
	Patient wssec.PatientID `json:"patient"`
	Data    []byte          `json:"data"` // the eDispensation CDA as sent
}

// Submissions keeps sent eDispensations by document id.
type Submissions interface {
	Put(ctx context.Context, id string, s Submitted) error
	Get(ctx context.Context, id string) (Submitted, bool, error)
}

// MemorySubmissions is the in-process Submissions (tests, and hosts
// without durable storage).
type MemorySubmissions struct {
	mu sync.Mutex
	m  map[string]Submitted
}

// Put implements Submissions.
func (m *MemorySubmissions) Put(_ context.Context, id string, s Submitted) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]Submitted{}
	}
	m.m[id] = s
	return nil
}

// Get implements Submissions.
func (m *MemorySubmissions) Get(_ context.Context, id string) (Submitted, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[id]
	return s, ok, nil
}

// FileSubmissions keeps sent eDispensations as fsync'd files under Dir, so
// a discard still works after a restart.
type FileSubmissions struct{ Dir string }

func (f FileSubmissions) path(id string) string {
	h := sha256.Sum256([]byte(id))
	return filepath.Join(f.Dir, hex.EncodeToString(h[:16])+".json")
}

// Put implements Submissions.
func (f FileSubmissions) Put(_ context.Context, id string, s Submitted) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(struct {
		ID string `json:"id"`
		Submitted
	}{id, s})
	if err != nil {
		return err
	}
	final := f.path(id)
	tmp, err := os.CreateTemp(f.Dir, ".sub-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("submissions: %w", err)
	}
	return nil
}

// Get implements Submissions.
func (f FileSubmissions) Get(_ context.Context, id string) (Submitted, bool, error) {
	b, err := os.ReadFile(f.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return Submitted{}, false, nil
	}
	if err != nil {
		return Submitted{}, false, err
	}
	var rec struct {
		ID string `json:"id"`
		Submitted
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.ID != id {
		return Submitted{}, false, fmt.Errorf("submissions: corrupt record for %s", id)
	}
	return rec.Submitted, true, nil
}
