package smp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/clock"
)

// Server is a Service Metadata Publisher over HTTP: GET of
// /<scheme>::<participant> (the ServiceGroup) and of
// /<scheme>::<participant>/services/<scheme>::<document> (the
// SignedServiceMetadata, as stored), and PUT of the latter. A PUT body
// must be SignedServiceMetadata that Verifier accepts for the participant
// and document of the path: the publisher authenticates by its signature
// (eHDSI SMPs authenticate the uploader by certificate; the local twin
// lets the signature speak for it). Safe for concurrent use.
type Server struct {
	Verifier Verifier
	// Dir, when set, persists published metadata (one file per document).
	Dir string
	// Now is the clock; nil means the system clock.
	Now func() time.Time
	// MaxBytes caps a PUT body (default 1 MiB).
	MaxBytes int64

	mu   sync.Mutex
	docs map[string][]byte // lower(participant) + "\n" + lower(document) → signed XML
}

func key(participant, document string) string {
	return strings.ToLower(participant) + "\n" + strings.ToLower(document)
}

// Put stores signed metadata after verifying it (what an HTTP PUT does).
func (s *Server) Put(participant, document string, signed []byte) error {
	if _, _, err := s.Verifier.Verify(signed, participant, document, clock.Or(s.Now)()); err != nil {
		return err
	}
	s.Store(participant, document, signed)
	if s.Dir != "" {
		if err := os.MkdirAll(s.Dir, 0o755); err != nil {
			return err
		}
		name := url.PathEscape(strings.ToLower(participant)) + "__" + url.PathEscape(strings.ToLower(document)) + ".xml"
		if err := os.WriteFile(filepath.Join(s.Dir, name), signed, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Store keeps signed metadata without checking it (tests publish bad
// metadata with it; Put is the checked path).
func (s *Server) Store(participant, document string, signed []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.docs == nil {
		s.docs = map[string][]byte{}
	}
	s.docs[key(participant, document)] = append([]byte(nil), signed...)
}

// Get returns stored metadata.
func (s *Server) Get(participant, document string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.docs[key(participant, document)]
	return b, ok
}

// Load reads the metadata a previous run persisted in Dir (checked again).
func (s *Server) Load() error {
	if s.Dir == "" {
		return nil
	}
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		p, d, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".xml"), "__")
		if !ok {
			continue
		}
		pp, err1 := url.PathUnescape(p)
		dd, err2 := url.PathUnescape(d)
		b, err3 := os.ReadFile(filepath.Join(s.Dir, e.Name()))
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		if _, _, err := s.Verifier.Verify(b, pp, dd, clock.Or(s.Now)()); err == nil {
			s.Store(pp, dd, b)
		}
	}
	return nil
}

// parsePath splits /<ps>::<participant>[/services/<ds>::<document>].
func parsePath(p string) (participant, document string, ok bool) {
	raw := strings.TrimPrefix(p, "/")
	first, rest, hasDoc := strings.Cut(raw, "/services/")
	pp, err := url.PathUnescape(first)
	if err != nil {
		return "", "", false
	}
	scheme, participant, ok := strings.Cut(pp, "::")
	if !ok || !strings.EqualFold(scheme, ParticipantScheme) || participant == "" {
		return "", "", false
	}
	if !hasDoc {
		return participant, "", true
	}
	dd, err := url.PathUnescape(rest)
	if err != nil {
		return "", "", false
	}
	scheme, document, ok = strings.Cut(dd, "::")
	if !ok || !strings.EqualFold(scheme, DocumentScheme) || document == "" {
		return "", "", false
	}
	return participant, document, true
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	participant, document, ok := parsePath(r.URL.EscapedPath())
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case r.Method == http.MethodGet && document == "":
		s.serviceGroup(w, participant)
	case r.Method == http.MethodGet:
		b, ok := s.Get(participant, document)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(b)
	case r.Method == http.MethodPut && document != "":
		max := s.MaxBytes
		if max <= 0 {
			max = 1 << 20
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if err != nil {
			http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		if err := s.Put(participant, document, b); err != nil {
			http.Error(w, "metadata refused: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", "GET, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// serviceGroup lists a participant's documents (SMP ServiceGroup with
// ServiceMetadataReferenceCollection).
func (s *Server) serviceGroup(w http.ResponseWriter, participant string) {
	s.mu.Lock()
	var docs []string
	prefix := strings.ToLower(participant) + "\n"
	for k := range s.docs {
		if d, ok := strings.CutPrefix(k, prefix); ok {
			docs = append(docs, d)
		}
	}
	s.mu.Unlock()
	if len(docs) == 0 {
		http.Error(w, "unknown participant", http.StatusNotFound)
		return
	}
	sort.Strings(docs)
	doc := etree.NewDocument()
	sg := doc.CreateElement("ServiceGroup")
	sg.CreateAttr("xmlns", NS)
	pid := sg.CreateElement("ParticipantIdentifier")
	pid.CreateAttr("scheme", ParticipantScheme)
	pid.SetText(participant)
	coll := sg.CreateElement("ServiceMetadataReferenceCollection")
	for _, d := range docs {
		coll.CreateElement("ServiceMetadataReference").CreateAttr("href", MetadataPath(participant, d))
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = doc.WriteTo(w)
}

// Fetch GETs one document's signed metadata from the SMP at base.
func Fetch(ctx context.Context, hc *http.Client, base, participant, document string, max int64) ([]byte, string, error) {
	u := strings.TrimRight(base, "/") + MetadataPath(participant, document)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, u, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, u, err
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return nil, u, ErrNotPublished
	}
	if res.StatusCode != http.StatusOK {
		return nil, u, errors.New("SMP answered " + res.Status)
	}
	if max <= 0 {
		max = 1 << 20
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, max+1))
	if err != nil {
		return nil, u, err
	}
	if int64(len(b)) > max {
		return nil, u, errors.New("SMP reply larger than the limit")
	}
	return b, u, nil
}

// ErrNotPublished: the SMP has no metadata for that document.
var ErrNotPublished = errors.New("not published")
