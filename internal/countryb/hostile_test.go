package countryb

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/testutil"
)

// hostileRetrieve asks FR's first patient's document of class (its L1
// form when l1) in format.
func (e *env) hostileRetrieve(t testing.TB, class string, l1 bool, format string) (int, map[string][]string, []byte) {
	t.Helper()
	prof, _ := peer.Profile("FR")
	pt := prof.Patients[0]
	code := map[string]string{"PS": ehdsi.ClassPS, "EP": ehdsi.ClassEP}[class]
	id := e.peers["FR"].Documents(pt.ID, code)[0]
	if l1 {
		id += ".1"
	}
	st, h, b := e.post(t, "/api/v1/countries/FR/documents/retrieve", RetrieveRequest{Professional: physician(),
		Patient:  Identifier{Root: prof.PatientRoot, Extension: pt.ID},
		Document: DocumentRef{ID: id, RepositoryID: prof.HomeCommunityID + ".7", HomeCommunityID: prof.HomeCommunityID, Class: class}, Format: format})
	return st, h, b
}

func decodeErr(t testing.TB, st int, b []byte) APIError {
	t.Helper()
	var ae apiErr
	if err := json.Unmarshal(b, &ae); err != nil {
		t.Fatalf("not a JSON error: %d %.300s", st, b)
	}
	return ae.Error
}

// TestHostilePeer replays the attacks of a foreign contact point that
// presents its pinned certificate but tampers with its replies.
func TestHostilePeer(t *testing.T) {
	tests := []struct {
		name    string
		mode    peer.Mode
		opt     func(*peer.Options)
		class   string
		l1      bool
		format  string
		status  int
		code    string
		message string
	}{
		{"3 MB padded PS", peer.ModePadded, func(o *peer.Options) { o.PadBytes = 3 << 20 }, "PS", false, "html", 502, "country-invalid-reply", "more than 50000 elements"},
		{"16 MB padded PS", peer.ModePadded, func(o *peer.Options) { o.PadBytes = 16 << 20 }, "PS", false, "html", 502, "country-invalid-reply", "larger than"},
		{"signed XHTML script", peer.ModeScript, nil, "PS", false, "original", 502, "country-invalid-reply", "active content (a XHTML element (script))"},
		{"stylesheet PI", peer.ModeScript, nil, "EP", false, "translated", 502, "country-invalid-reply", "processing instructions are not allowed"},
		{"external DTD", peer.ModeScript, nil, "PS", true, "html", 502, "country-invalid-reply", "DTDs and entity declarations are not allowed"},
		{"unsigned from a signing country", peer.ModeUnsigned, nil, "PS", false, "html", 502, "country-invalid-reply", "not signed although FR signs"},
		{"unsigned twin around the signed original", peer.ModeWrapped, nil, "PS", false, "html", 502, "country-invalid-reply", "wrapped"},
		{"another signed document of the patient", peer.ModeSubstitute, nil, "PS", false, "html", 502, "country-invalid-reply", "another document than the one asked for"},
		{"another signed prescription", peer.ModeSubstitute, nil, "EP", false, "original", 502, "country-invalid-reply", "another document than the one asked for"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, map[string]peer.Mode{"FR": tc.mode}, envOptions{peer: tc.opt, router: func(c *routing.Config) {
				// A loaded machine (or -race) may take seconds to produce
				// and read 16 MB: the point is the refusal, not speed.
				c.AttemptTimeout, c.CallTimeout = 20*time.Second, 30*time.Second
			}})
			st, _, b := e.hostileRetrieve(t, tc.class, tc.l1, tc.format)
			ae := decodeErr(t, st, b)
			if st != tc.status || ae.Code != tc.code || !strings.Contains(ae.Message, tc.message) {
				t.Fatalf("got %d %.400s; want %d %s %q", st, b, tc.status, tc.code, tc.message)
			}
		})
	}
}

// TestPaddedDocumentMemory: padded Patient Summaries of 16 and 47 MB,
// three at once, are refused with bounded allocation while another
// country keeps answering.
func TestPaddedDocumentMemory(t *testing.T) {
	if testutil.Race {
		t.Skip("allocation bounds are asserted in make test's run without -race")
	}
	for _, pad := range []int{16 << 20, 47 << 20} {
		t.Run(fmt.Sprintf("%d MiB", pad>>20), func(t *testing.T) {
			e := newEnvWith(t, map[string]peer.Mode{"FR": peer.ModePadded, "BE": peer.ModeNone},
				envOptions{peer: func(o *peer.Options) { o.PadBytes = pad }, router: func(c *routing.Config) {
					// A shared machine: the point is memory, not speed.
					c.AttemptTimeout, c.CallTimeout = 20*time.Second, 30*time.Second
				}})
			statuses, bodies, alloc, heap := e.underAttack(t, 3, func() (int, []byte) {
				st, _, b := e.hostileRetrieve(t, "PS", false, "html")
				return st, b
			})
			for i := range statuses {
				ae := decodeErr(t, statuses[i], bodies[i])
				if statuses[i] != 502 || ae.Code != "country-invalid-reply" || !strings.Contains(ae.Message, "larger than") {
					t.Errorf("padded retrieve %d: %d %.300s", i, statuses[i], bodies[i])
				}
			}
			t.Logf("3 × %d MiB padded PS + 1 search: %d MiB allocated in all, heap %d MiB after", pad>>20, alloc>>20, heap>>20)
			// Before the limits one 16 MB document cost ~870 MB.
			if alloc > 3*64<<20+32<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
		})
	}
}

// underAttack runs n attack calls at once while Belgium is searched,
// checks that Belgium answers, and returns the attack's answers, the bytes
// allocated in all and the heap after.
func (e *env) underAttack(t *testing.T, n int, attack func() (int, []byte)) (statuses []int, bodies [][]byte, alloc, heap uint64) {
	t.Helper()
	be, _ := peer.Profile("BE")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	statuses, bodies = make([]int, n), make([][]byte, n)
	for i := range statuses {
		wg.Go(func() { statuses[i], bodies[i] = attack() })
	}
	st, _, b := e.post(t, "/api/v1/countries/BE/patients/search", SearchRequest{Professional: physician(),
		Identifiers: []Identifier{{Root: be.PatientRoot, Extension: be.Patients[0].ID}}})
	wg.Wait()
	runtime.ReadMemStats(&after)
	if st != 200 {
		t.Errorf("Belgium did not answer during the attack: %d %.300s", st, b)
	}
	return statuses, bodies, after.TotalAlloc - before.TotalAlloc, after.HeapAlloc
}

// TestPeerTextIsData: a 256 KiB refusal text with line breaks and a
// right-to-left override, under an unknown code containing CONSENT,
// reaches neither the API nor the audit as such.
func TestPeerTextIsData(t *testing.T) {
	e := newEnvWith(t, map[string]peer.Mode{"FR": peer.ModeLongText}, envOptions{peer: func(o *peer.Options) { o.TextBytes = 256 << 10 }})
	prof, _ := peer.Profile("FR")
	pt := prof.Patients[0]
	id := Identifier{Root: prof.PatientRoot, Extension: pt.ID}
	check := func(what string, st int, b []byte, status int, code string) {
		t.Helper()
		ae := decodeErr(t, st, b)
		if st != status || ae.Code != code || ae.EHDSI != ehdsi.ErrGeneric {
			t.Errorf("%s: %d %.300s; want %d %s ERROR_GENERIC", what, st, b, status, code)
		}
		if len(b) > 2048 || strings.ContainsAny(ae.Message, "\n\u202E") || !strings.Contains(ae.Message, "truncated from") ||
			!strings.Contains(ae.Message, `unknown error code \"ERROR_CONSENT_SIMULATED\"`) && !strings.Contains(ae.Message, `unknown error code "ERROR_CONSENT_SIMULATED"`) {
			t.Errorf("%s: message not bounded, clean and marked (%d bytes): %.400s", what, len(b), b)
		}
	}
	st, _, b := e.post(t, "/api/v1/countries/FR/patients/search", SearchRequest{Professional: physician(), Identifiers: []Identifier{id}})
	check("search (SOAP fault)", st, b, 502, "country-refused")
	st, _, b = e.post(t, "/api/v1/countries/FR/documents/list", ListRequest{Professional: physician(), Patient: id})
	check("list (RegistryError)", st, b, 502, "country-refused")
	st, _, b = e.hostileRetrieve(t, "PS", false, "html")
	check("retrieve (RegistryError)", st, b, 502, "country-refused")
	e.audit.mu.Lock()
	defer e.audit.mu.Unlock()
	for _, ev := range e.audit.events {
		j, _ := json.Marshal(ev)
		if len(j) > 8<<10 || strings.ContainsRune(string(j), '\u202E') || strings.Contains(ev.ErrorText, "\n") {
			t.Errorf("audit %s: %d bytes: %.300s", ev.Type, len(j), j)
		}
		if ev.ErrorText != "" && !strings.Contains(ev.ErrorText, "sha256:") {
			t.Errorf("audit %s keeps no trace of the cut text: %q", ev.Type, ev.ErrorText)
		}
	}
	// At its full 40 MiB the text does not even get read.
	e = newEnvWith(t, map[string]peer.Mode{"FR": peer.ModeLongText}, envOptions{router: func(c *routing.Config) {
		// The peer writes 40 MiB; under -race on a shared machine that is slow.
		c.AttemptTimeout, c.CallTimeout = 20*time.Second, 30*time.Second
	}})
	st, _, b = e.post(t, "/api/v1/countries/FR/documents/list", ListRequest{Professional: physician(), Patient: id})
	if ae := decodeErr(t, st, b); st != 502 || !strings.Contains(ae.Message, "larger than 1048576 bytes") {
		t.Errorf("40 MiB refusal: %d %.300s", st, b)
	}
}

// TestUnsignedWhereAccepted: from a country not recorded as signing, an
// unsigned document is shown with a visible banner and a header.
func TestUnsignedWhereAccepted(t *testing.T) {
	e := newEnvWith(t, map[string]peer.Mode{"FR": peer.ModeUnsigned}, envOptions{entry: func(c *routing.Country) { c.SignsDocuments = false }})
	st, h, b := e.hostileRetrieve(t, "PS", false, "html")
	if st != 200 {
		t.Fatalf("%d %.300s", st, b)
	}
	if h["X-Luxncp-Signed"][0] != "false" || h["X-Luxncp-Signature"][0] != "not-signed-by-sending-country" {
		t.Errorf("headers %v", h)
	}
	// The page is French (the default): so is luxncp's own warning.
	if !strings.Contains(string(b), `role="alert"><strong>Avertissement :</strong>`) && !strings.Contains(string(b), `role="alert"><strong>Avertissement:</strong>`) ||
		!strings.Contains(string(b), "n&#39;est pas signé par le pays d&#39;origine (FR)") || strings.Contains(string(b), "not signed") {
		t.Errorf("no visible not-signed banner in French: %.600s", b[strings.Index(string(b), `role="alert"`):])
	}
}

// TestResponseHeaders: every format goes out with a strict policy, no
// sniffing, and the XML formats as attachments.
func TestResponseHeaders(t *testing.T) {
	e := newEnv(t, map[string]peer.Mode{"FR": peer.ModeNone})
	for _, format := range []string{"original", "translated", "html"} {
		st, h, b := e.hostileRetrieve(t, "PS", false, format)
		if st != 200 {
			t.Fatalf("%s: %d %.300s", format, st, b)
		}
		csp := strings.Join(h["Content-Security-Policy"], ";")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || h["X-Content-Type-Options"][0] != "nosniff" {
			t.Errorf("%s: CSP %q nosniff %v", format, csp, h["X-Content-Type-Options"])
		}
		cd := strings.Join(h["Content-Disposition"], "")
		if (format != "html") != strings.HasPrefix(cd, "attachment;") {
			t.Errorf("%s: Content-Disposition %q", format, cd)
		}
	}
	st, h, _ := e.post(t, "/api/v1/countries/FR/documents/list", map[string]any{})
	if st != 400 || h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("JSON error without the security headers: %d %v", st, h)
	}
}

// TestCountryBusy: beyond MaxDocuments foreign documents in memory, a
// retrieve is refused as country-busy; once a slot is free it is served.
func TestCountryBusy(t *testing.T) {
	e := newEnvWith(t, map[string]peer.Mode{"FR": peer.ModeNone}, envOptions{config: func(c *Config) {
		c.Limits.MaxDocuments, c.Limits.DocumentWait = 1, 1
	}})
	e.svc.docSlots <- struct{}{}
	st, _, b := e.hostileRetrieve(t, "PS", false, "html")
	if ae := decodeErr(t, st, b); st != 503 || ae.Code != "country-busy" {
		t.Fatalf("slots full: %d %.300s", st, b)
	}
	<-e.svc.docSlots
	if st, _, b := e.hostileRetrieve(t, "PS", false, "html"); st != 200 {
		t.Fatalf("slot free: %d %.300s", st, b)
	}
}

// TestHiddenCharactersPeer: a signed PS and eP carrying bidi overrides,
// isolates, zero-width and C1 control characters are shown without them
// (the eP dosage in logical order, the 5 000-character title cut); the
// XML formats keep the bytes as signed.
func TestHiddenCharactersPeer(t *testing.T) {
	e := newEnv(t, map[string]peer.Mode{"FR": peer.ModeBidi})
	for _, class := range []string{"PS", "EP"} {
		st, _, b := e.hostileRetrieve(t, class, false, "html")
		if st != 200 {
			t.Fatalf("%s: %d %.300s", class, st, b)
		}
		if i := strings.IndexAny(string(b), peer.Hidden); i >= 0 {
			t.Errorf("%s: hidden character %q in the HTML", class, []rune(string(b[i:]))[0])
		}
		if !strings.Contains(string(b), peer.BidiDoseShown) || !strings.Contains(string(b), "… [truncated from") {
			t.Errorf("%s: dosage not in logical order or title not cut", class)
		}
		st, _, b = e.hostileRetrieve(t, class, false, "original")
		if st != 200 || !strings.Contains(string(b), peer.BidiDose) {
			t.Errorf("%s original: %d, signed bytes changed", class, st)
		}
	}
}

// TestListReplyMemory: forty document lists at once against a contact
// point answering each with a 3.5 MB codeContext (under the 4 MiB cap of
// other replies) are refused with bounded allocation while another
// country keeps answering.
func TestListReplyMemory(t *testing.T) {
	if testutil.Race {
		t.Skip("allocation bounds are asserted in make test's run without -race")
	}
	const calls = 40
	e := newEnvWith(t, map[string]peer.Mode{"FR": peer.ModeLongText, "BE": peer.ModeNone},
		envOptions{peer: func(o *peer.Options) { o.TextBytes = 3_500_000 }, router: func(c *routing.Config) {
			c.AttemptTimeout, c.CallTimeout = 20*time.Second, 30*time.Second
		}})
	fr, _ := peer.Profile("FR")
	statuses, bodies, alloc, heap := e.underAttack(t, calls, func() (int, []byte) {
		st, _, b := e.post(t, "/api/v1/countries/FR/documents/list", ListRequest{Professional: physician(),
			Patient: Identifier{Root: fr.PatientRoot, Extension: fr.Patients[0].ID}})
		return st, b
	})
	for i := range statuses {
		ae := decodeErr(t, statuses[i], bodies[i])
		// Refused as too large, or once the circuit opened on those
		// refusals, without calling.
		if !(statuses[i] == 502 && strings.Contains(ae.Message, "larger than 1048576 bytes") || statuses[i] == 503 && ae.Code == "country-down") {
			t.Errorf("list %d: %d %.300s", i, statuses[i], bodies[i])
		}
	}
	t.Logf("%d lists with a 3.5 MB codeContext + 1 search: %d MiB allocated in all, heap %d MiB after", calls, alloc>>20, heap>>20)
	// Before the query reply cap forty such lists cost ~620 MB.
	if alloc > calls*5<<20 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
}

// TestReplyBudget: with the reply budget taken, a list waits and is
// refused as country-busy; once the budget is free it is served.
func TestReplyBudget(t *testing.T) {
	e := newEnvWith(t, map[string]peer.Mode{"FR": peer.ModeNone}, envOptions{config: func(c *Config) {
		c.Limits.ReplyBudget, c.Limits.DocumentWait = 2<<20, 1
	}})
	fr, _ := peer.Profile("FR")
	list := func() (int, []byte) {
		st, _, b := e.post(t, "/api/v1/countries/FR/documents/list", ListRequest{Professional: physician(),
			Patient: Identifier{Root: fr.PatientRoot, Extension: fr.Patients[0].ID}})
		return st, b
	}
	if !e.svc.replies.TryAcquire(2 << 20) {
		t.Fatal("budget not free")
	}
	if st, b := list(); st != 503 || decodeErr(t, st, b).Code != "country-busy" {
		t.Fatalf("budget taken: %d %.300s", st, b)
	}
	st, _, b := e.hostileRetrieve(t, "PS", false, "html")
	if st != 503 || decodeErr(t, st, b).Code != "country-busy" {
		t.Fatalf("budget taken, retrieve: %d %.300s", st, b)
	}
	e.svc.replies.Release(2 << 20)
	if st, b := list(); st != 200 {
		t.Fatalf("budget free: %d %.300s", st, b)
	}
}
