package peer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/wssec"
	"github.com/luxncp/luxncp/internal/xca"
	"github.com/luxncp/luxncp/internal/xcpd"
)

// Mode is a failure mode of a simulated peer.
type Mode string

// The failure modes.
const (
	ModeNone         Mode = ""
	ModeSlow         Mode = "slow"         // answers after SlowDelay (or never, within a test)
	Mode5xx          Mode = "5xx"          // HTTP 503 with a plain-text body
	ModeFault        Mode = "fault"        // a SOAP Receiver fault with an eHDSI code
	ModeBadSig       Mode = "badsig"       // retrieved documents carry a broken signature
	ModeExpired      Mode = "expired"      // TLS certificate expired (issued by the dev CA)
	ModeUntrusted    Mode = "untrusted"    // TLS certificate self-signed
	ModeWrongCountry Mode = "wrongcountry" // TLS certificate of the dev CA naming another country
	ModeMalformed    Mode = "malformed"    // HTTP 200 with broken XML
)

// Modes lists every failure mode.
var Modes = []Mode{ModeSlow, Mode5xx, ModeFault, ModeBadSig, ModeExpired, ModeUntrusted, ModeWrongCountry, ModeMalformed,
	ModePadded, ModeLongText, ModeScript, ModeUnsigned, ModeWrapped, ModeSubstitute, ModeBidi}

// ParseMode checks a mode name.
func ParseMode(s string) (Mode, error) {
	if s == "" || s == "none" {
		return ModeNone, nil
	}
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return "", fmt.Errorf("unknown failure mode %q (%s)", s, strings.Join(names, ", "))
}

// Options configure a simulated peer.
type Options struct {
	Country string // FR, BE, DE, NL, PT
	// PKIDir is the dev PKI directory (ca.pem, ca.key, <cc>-tls.*, <cc>-seal.*).
	PKIDir string
	Fail   Mode
	// SlowDelay is how long a slow peer waits before answering (default 60 s;
	// the wait ends when the client goes away).
	SlowDelay time.Duration
	// PadBytes is how far ModePadded pads a document (default 16 MB);
	// TextBytes how long ModeLongText's refusals are (default 40 MiB).
	PadBytes, TextBytes int
	// Now is the clock; nil means the system clock.
	Now func() time.Time
	Log *slog.Logger
}

// Peer is one simulated national contact point.
type Peer struct {
	Profile Country
	opt     Options
	tlsCert tls.Certificate
	cert    *x509.Certificate
	seal    *pki.Credential
	handler http.Handler
	docs    map[string]*document // by unique id
	mu      sync.Mutex
	// received eDispensations by document unique id (idempotency).
	dispensed map[string]Dispensation
	// long holds ModeLongText's replies, built once (by kind).
	long map[string]*httptest.ResponseRecorder
}

// Dispensation is an eDispensation the peer received.
type Dispensation struct {
	DocumentID string
	Patient    string
	Discarded  bool
	Submits    int // how many times it was submitted (duplicates deduplicated)
}

type document struct {
	entry xca.Entry
	data  []byte
}

func (o Options) now() time.Time {
	return clock.Or(o.Now)()
}

// New builds a simulated peer (documents generated and signed, certificate
// loaded or generated for the failure mode).
func New(opt Options) (*Peer, error) {
	cc := strings.ToUpper(opt.Country)
	prof, ok := Profile(cc)
	if !ok {
		return nil, fmt.Errorf("peer: no simulated country %q (BE, DE, FR, NL, PT)", opt.Country)
	}
	if opt.SlowDelay == 0 {
		opt.SlowDelay = 60 * time.Second
	}
	p := &Peer{Profile: prof, opt: opt, docs: map[string]*document{}, dispensed: map[string]Dispensation{}}
	var err error
	if p.seal, err = pki.LoadCredential(opt.PKIDir, cc, pki.KindSeal); err != nil {
		return nil, fmt.Errorf("peer %s: seal: %w", cc, err)
	}
	if err := p.loadTLS(); err != nil {
		return nil, fmt.Errorf("peer %s: %w", cc, err)
	}
	if err := p.buildDocuments(); err != nil {
		return nil, fmt.Errorf("peer %s: documents: %w", cc, err)
	}
	// The simulated peer trusts what the dev trust list says, like a node.
	trust, err := pki.LoadTrustStore(filepath.Join(opt.PKIDir, pki.TrustDir))
	if err != nil {
		return nil, fmt.Errorf("peer %s: %w", cc, err)
	}
	p.handler = p.build(trust)
	return p, nil
}

// Country returns the peer's ISO code.
func (p *Peer) Country() string { return p.Profile.Code }

// Certificate is the TLS certificate the peer presents.
func (p *Peer) Certificate() *x509.Certificate { return p.cert }

// TLSConfig is the peer's server TLS configuration (client certificates
// requested, verified by the gateway pipeline).
func (p *Peer) TLSConfig() *tls.Config { return host.LocalTLSConfig(p.tlsCert) }

// Handler serves the three eHDSI endpoints at the OpenNCP paths.
func (p *Peer) Handler() http.Handler { return p.handler }

// DirectoryEntry is the peer's service metadata for a base URL
// (https://host:port).
func (p *Peer) DirectoryEntry(baseURL string) routing.Country {
	baseURL = strings.TrimRight(baseURL, "/")
	pemCert := routing.CertPEM(p.cert)
	ep := func(t routing.Transaction, path string) routing.Endpoint {
		return routing.Endpoint{Transaction: t, DocumentID: t.DocumentID(), URL: baseURL + path, Certificate: pemCert}
	}
	return routing.Country{
		Code: p.Profile.Code, Participant: routing.Participant(p.Profile.Code), HomeCommunityID: p.Profile.HomeCommunityID,
		Name:           p.Profile.Name + " (simulated)",
		SearchMask:     []routing.IdentifierType{{Root: p.Profile.PatientRoot, Name: p.Profile.PatientIDName}},
		SignsDocuments: true, // the simulated peers seal every document
		Endpoints: []routing.Endpoint{
			ep(routing.ITI55, ehdsi.PathXCPD), ep(routing.ITI38, ehdsi.PathXCA),
			ep(routing.ITI39, ehdsi.PathXCA), ep(routing.ITI41, ehdsi.PathXDR),
		},
	}
}

// Dispensations returns what the peer received, by document id.
func (p *Peer) Dispensations() map[string]Dispensation {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]Dispensation, len(p.dispensed))
	for k, v := range p.dispensed {
		out[k] = v
	}
	return out
}

// Documents lists the unique ids of the peer's L3 documents of a class
// (each has its L1 form beside it, id + ".1").
func (p *Peer) Documents(patientID, class string) []string {
	var out []string
	for id, d := range p.docs {
		if d.entry.Patient.Extension == patientID && d.entry.ClassCode == class && d.entry.Level != xca.L1 {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func (p *Peer) loadTLS() error {
	cc := p.Profile.Code
	now := p.opt.now()
	switch p.opt.Fail {
	case ModeExpired, ModeWrongCountry, ModeUntrusted:
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		subjCC := cc
		notBefore, notAfter := now.Add(-time.Hour), now.Add(30*24*time.Hour)
		switch p.opt.Fail {
		case ModeExpired:
			notBefore, notAfter = now.Add(-400*24*time.Hour), now.Add(-24*time.Hour)
		case ModeWrongCountry:
			subjCC = "DE"
			if cc == "DE" {
				subjCC = "FR"
			}
		}
		sn, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 100))
		tmpl := &x509.Certificate{
			SerialNumber: sn,
			Subject: pkix.Name{CommonName: fmt.Sprintf("ncp-%s tls (simulated %s)", strings.ToLower(cc), p.opt.Fail),
				Organization: []string{"Simulated NCP " + p.Profile.Name}, Country: []string{subjCC}},
			NotBefore: notBefore, NotAfter: notAfter,
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			DNSNames:    []string{"localhost"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		}
		parent, signer := tmpl, crypto.Signer(key)
		if p.opt.Fail != ModeUntrusted {
			ca, err := pki.ReadCertificate(filepath.Join(p.opt.PKIDir, pki.CAFile))
			if err != nil {
				return err
			}
			caKey, err := pki.ReadKey(filepath.Join(p.opt.PKIDir, pki.CAKeyFile))
			if err != nil {
				return err
			}
			parent, signer = ca, caKey
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
		if err != nil {
			return err
		}
		cert, _ := x509.ParseCertificate(der)
		p.cert, p.tlsCert = cert, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
		return nil
	}
	cred, err := pki.LoadCredential(p.opt.PKIDir, cc, pki.KindTLS)
	if err != nil {
		return err
	}
	p.cert, p.tlsCert = cred.Cert, cred.TLSCertificate()
	return nil
}

// epItem is what an OpenNCP node lists about a prescribed medication.
func epItem(m Medication) dialect.EPItem {
	it := dialect.EPItem{Dispensable: true, ATC: m.Ingredient.Code, ATCName: m.Ingredient.Display,
		DoseForm: m.Form.Code, DoseFormName: m.Form.Display, SubstitutionCode: "N", SubstitutionName: "none"}
	if m.Strength != "" {
		it.Strength = strings.TrimSpace(m.Strength + " " + m.StrengthU)
	}
	if m.Substitute {
		it.SubstitutionCode, it.SubstitutionName = "EC", "equivalent composition"
	}
	return it
}

// created is the fixed creation time of the fixtures (deterministic bytes).
var created = time.Date(2026, 1, 12, 9, 30, 0, 0, time.UTC)

func (p *Peer) buildDocuments() error {
	c := p.Profile
	for i, pt := range c.Patients {
		pid := wssec.PatientID{Extension: pt.ID, Root: c.PatientRoot}
		author := c.Doctor[0] + " " + c.Doctor[1]
		var addLevel func(class, title, desc, id string, data []byte, level xca.Level) error
		add := func(class, title, desc, id string, data []byte) error {
			return addLevel(class, title, desc, id, data, xca.L3)
		}
		addLevel = func(class, title, desc, id string, data []byte, level xca.Level) error {
			unsigned := p.hostileUnsigned(class, data)
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(unsigned); err != nil {
				return err
			}
			if err := routing.SignDocument(doc.Root(), p.seal.Signer, p.seal.Cert); err != nil {
				return err
			}
			signed, err := doc.WriteToBytes()
			if err != nil {
				return err
			}
			if p.opt.Fail == ModeBadSig {
				// Tamper with the content after signing.
				signed = []byte(strings.Replace(string(signed), "<title>", "<title>Altered: ", 1))
			}
			signed = p.hostileSigned(class, level == xca.L1, unsigned, signed)
			sum := sha1.Sum(signed)
			p.docs[id] = &document{data: signed, entry: xca.Entry{
				UniqueID: id, RepositoryUniqueID: c.HomeCommunityID + ".7", HomeCommunityID: c.HomeCommunityID,
				Patient: pid, ClassCode: class, Level: xca.L3, Title: title, Description: desc, Created: created,
				Author: author, AuthorInstitution: c.Organisation, Language: c.Language, Confidentiality: "N",
				Country: c.Code, MimeType: "text/xml", Size: len(signed), Hash: hex.EncodeToString(sum[:]),
			}}
			if level == xca.L1 {
				return nil
			}
			// Offer the L1 (PDF-embedded) form beside each L3, linked to it.
			l1, err := BuildL1(data)
			if err != nil {
				return err
			}
			if err := addLevel(class, title, desc, l1ID(id), l1, xca.L1); err != nil {
				return err
			}
			e := p.docs[l1ID(id)]
			e.entry.Level, e.entry.TransformOf = xca.L1, id
			return nil
		}
		if pt.NoConsent {
			continue
		}
		if err := add(ehdsi.ClassPS, c.Labels.PSTitle, "", docID(c, i, -1), BuildPS(c, i, created)); err != nil {
			return err
		}
		for k, m := range pt.Prescriptions {
			desc := m.Brand + " — " + m.Ingredient.Display + " (" + m.Ingredient.Code + ")"
			id := docID(c, i, k)
			if err := add(ehdsi.ClassEP, c.Labels.EPTitle+": "+m.Brand, desc, id, BuildEP(c, i, k, created)); err != nil {
				return err
			}
			// The eventCodeList OpenNCP writes on both levels of an eP.
			ec := dialect.EPEventCodes(epItem(m))
			p.docs[id].entry.EventCodes, p.docs[l1ID(id)].entry.EventCodes = ec, ec
		}
	}
	return nil
}

func (p *Peer) build(trust *pki.TrustStore) http.Handler {
	log := p.opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := &gateway.Config{
		TLSTrust:   trust,
		Assertions: &wssec.Verifier{Trust: trust, Now: p.opt.Now},
		Now:        p.opt.Now,
		Log:        log.With("peer", p.Profile.Code),
		Self:       auditSelf(p.Profile.Code),
	}
	reg := &registry{country: p.Profile}
	xs := &xcpd.Service{Patients: reg, HomeCommunityID: p.Profile.HomeCommunityID}
	xcpdOp := xs.Operation()
	xcpdOp.Handle = p.xcpdHandler(xs, reg)
	xcaSvc := &xca.Service{Provider: &provider{p: p}, HomeCommunityID: p.Profile.HomeCommunityID}
	mux := http.NewServeMux()
	mux.Handle(ehdsi.PathXCPD, &gateway.Endpoint{Name: "XCPD", Cfg: cfg, Ops: []gateway.Operation{xcpdOp}})
	mux.Handle(ehdsi.PathXCA, &gateway.Endpoint{Name: "XCA", Cfg: cfg, Ops: xcaSvc.Operations()})
	mux.Handle(ehdsi.PathXDR, &gateway.Endpoint{Name: "XDR", Cfg: cfg, Ops: []gateway.Operation{p.xdrOperation()}})
	return p.failures(mux)
}

// failures applies the failure mode in front of the endpoints.
func (p *Peer) failures(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p.opt.Fail {
		case ModeSlow:
			// Read the request first: only then does the server notice a
			// client that gives up (and cancel r's context).
			body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			t := time.NewTimer(p.opt.SlowDelay)
			defer t.Stop()
			select {
			case <-r.Context().Done():
				return
			case <-t.C:
			}
		case Mode5xx:
			http.Error(w, "503 Service Unavailable (simulated)", http.StatusServiceUnavailable)
			return
		case ModeFault:
			_ = soap.WriteFault(w, ehdsi.Receiver(ehdsi.ErrPIRegistryNotAvailable,
				"The national registry is unavailable (simulated failure)", nil), "")
			return
		case ModePadded, ModeLongText:
			if p.hostileReply(w, r) {
				return
			}
		case ModeMalformed:
			w.Header().Set("Content-Type", "application/soap+xml; charset=utf-8")
			_, _ = w.Write([]byte(`<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><broken`))
			return
		}
		next.ServeHTTP(w, r)
	})
}
