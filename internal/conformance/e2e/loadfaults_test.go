package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/conformance"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/testkit"
)

// spoiler answers every request with the node's response, except every
// every-th response of each step, which it spoils in one of the ways a
// wrong gateway can answer the step (cycling through them), and counts.
type spoiler struct {
	next  http.Handler
	every int

	mu      sync.Mutex
	seen    map[string]int // by step
	spoiled map[string]int // by step
}

const faultEnvelope = `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Receiver</env:Value></env:Code><env:Reason><env:Text xml:lang="en">spoiled</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`

var (
	reResponseCode = regexp.MustCompile(`<queryResponseCode code="OK"/>`)
	rePatientExt   = regexp.MustCompile(`(<patient classCode="PAT"><id root="[^"]*" extension=")([^"]*)"`)
	reDocumentID   = regexp.MustCompile(`(DocumentUniqueId>)([^<]+)<`)
	reDocument     = regexp.MustCompile(`(<(?:\w+:)?Document>)[^<]+<`)
	reExtrinsic    = regexp.MustCompile(`(?s)<(\w+:)?ExtrinsicObject .*</(\w+:)?ExtrinsicObject>`)
)

func (s *spoiler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	s.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	step := ""
	switch {
	case strings.HasSuffix(r.URL.Path, ehdsi.PathXCPD):
		step = conformance.StepXCPD
	case bytes.Contains(body, []byte("AdhocQueryResponse")):
		step = conformance.StepList
	case bytes.Contains(body, []byte("RetrieveDocumentSetResponse")):
		step = "retrieve"
	}
	s.mu.Lock()
	spoil := false
	if step != "" {
		s.seen[step]++
		spoil = s.seen[step]%s.every == 0
	}
	way := 0
	if spoil {
		way = s.spoiled[step]
		s.spoiled[step]++
	}
	s.mu.Unlock()
	if spoil {
		before := body
		switch fmt.Sprint(step, way%3) {
		case "xcpd0":
			body = reResponseCode.ReplaceAll(body, []byte(`<queryResponseCode code="NF"/>`))
		case "xcpd1":
			body = rePatientExt.ReplaceAll(body, []byte(`${1}9${2}"`)) // another patient
		case "xca-query-ep0":
			body = reExtrinsic.ReplaceAll(body, nil) // no document listed
		case "retrieve0":
			body = reDocumentID.ReplaceAll(body, []byte(`${1}${2}.9<`)) // another document
		case "retrieve1":
			body = reDocument.ReplaceAll(body, []byte(`${1}<`)) // an empty document
		default:
			body = []byte(faultEnvelope)
		}
		if bytes.Equal(before, body) {
			panic(fmt.Sprintf("spoiler: way %d of %s changed nothing", way%3, step))
		}
	}
	for k, v := range rec.Header() {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// TestLoadCountsWrongResponses: the load mode counts an iteration as failed
// whenever the gateway answers one of its requests wrongly — a fault, no
// match, another patient, no document listed, another document, an empty
// document — so a gateway spoiling every 7th response of each step produces exactly as
// many failed iterations as it spoiled responses (an iteration stops at its
// first wrong answer, so no iteration sees two).
func TestLoadCountsWrongResponses(t *testing.T) {
	if testing.Short() {
		t.Skip("load run")
	}
	sp := &spoiler{every: 7, seen: map[string]int{}, spoiled: map[string]int{}}
	url := startNodeWith(t, func(h http.Handler) http.Handler { sp.next = h; return sp })
	l := &conformance.Load{
		Target: url, Client: testkit.Client(t, "fr"), Identity: testkit.Identity(t, "fr", nil), Profile: repoProfile(t),
		SenderHCID: "2.16.17.710.790.1000.990.1", Rate: 100, Duration: 10 * time.Second, Concurrency: 8, MaxIterations: 60,
	}
	rep, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	total := 0
	for _, n := range sp.spoiled {
		total += n
	}
	t.Logf("%d iterations, %d failed; spoiled %v; errors %v", rep.Iterations, rep.Failed, sp.spoiled, rep.Errors)
	if rep.Iterations != 60 || sp.spoiled[conformance.StepXCPD] < 3 || sp.spoiled[conformance.StepList] < 3 || sp.spoiled["retrieve"] < 3 {
		t.Fatalf("%d iterations, spoiled %v: not every way of spoiling was tried", rep.Iterations, sp.spoiled)
	}
	if rep.Failed != total || rep.Succeeded != rep.Iterations-total {
		t.Errorf("%d responses spoiled, but %d iterations failed and %d succeeded of %d: %v", total, rep.Failed, rep.Succeeded, rep.Iterations, rep.Errors)
	}
	if err := rep.Check(); err == nil {
		t.Error("Check passed a run with failed iterations")
	}
}
