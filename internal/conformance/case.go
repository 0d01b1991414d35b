package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Transactions a case can exercise.
const (
	TxXCPD        = "xcpd"
	TxXCAQuery    = "xca-query"
	TxXCARetrieve = "xca-retrieve"
	TxXDRSubmit   = "xdr-submit"
	TxXDRDiscard  = "xdr-discard"
	TxRaw         = "raw"
)

// Outcomes a case can expect.
const (
	// OutcomeSuccess: no SOAP fault, no error-severity code; content checks apply.
	OutcomeSuccess = "success"
	// OutcomeEmpty: no SOAP fault and nothing found (no subject, entry or
	// document); any code returned must be one of Codes.
	OutcomeEmpty = "empty"
	// OutcomeError: an IHE-level error inside a normal response (XCPD
	// acknowledgementDetail, RegistryError) with one of Codes.
	OutcomeError = "error"
	// OutcomeFault: a SOAP fault with one of Codes (any code when Codes is empty).
	OutcomeFault = "fault"
	// OutcomeRefused: a SOAP fault or an IHE-level error, with one of Codes.
	OutcomeRefused = "refused"
)

// Case is one conformance test, read from conformance/cases/<suite>/<name>.json.
type Case struct {
	// Suite is the directory the case sits in (filled in by the loader when empty).
	Suite       string `json:"suite"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Transaction: xcpd, xca-query, xca-retrieve, xdr-submit, xdr-discard, raw.
	Transaction string    `json:"transaction"`
	Request     Params    `json:"request"`
	Assertion   Assertion `json:"assertion"`
	Expect      Expect    `json:"expect"`
	// File is where the case was read from (not in the JSON).
	File string `json:"-"`
}

// ID is suite/name.
func (c *Case) ID() string { return c.Suite + "/" + c.Name }

// Params are the request parameters of a case.
type Params struct {
	// Patient is a key of the profile's patients.
	Patient string `json:"patient,omitempty"`
	// By says how XCPD names the patient: id (default), demographics,
	// id+demographics, none.
	By string `json:"by,omitempty"`
	// ID, Root, Family, Given override the profile's values (for
	// deliberately wrong queries); "-" clears a value.
	ID     string `json:"id,omitempty"`
	Root   string `json:"root,omitempty"`
	Family string `json:"family,omitempty"`
	Given  string `json:"given,omitempty"`
	// ClassCode of an XCA query (LOINC), or of the list a retrieve picks from.
	ClassCode string `json:"classCode,omitempty"`
	// Document selects what a retrieve asks for from the list of ClassCode:
	// first-l3, first-l1, pair (first L3 and its L1), all, unknown (an id
	// the target cannot know). For XDR, unknown makes the eDispensation
	// refer to a prescription (submit) or a dispensation (discard) the
	// target does not know.
	Document string `json:"document,omitempty"`
	// MTOM sends the request as MTOM/XOP (retrieves answer with MIME parts).
	MTOM bool `json:"mtom,omitempty"`
	// Replay sends the identical request bytes twice and judges the second reply.
	Replay bool `json:"replay,omitempty"`
	// NoClientCert connects without a TLS client certificate.
	NoClientCert bool `json:"noClientCert,omitempty"`
	// Raw is the deliberately broken request of a raw case.
	Raw *Raw `json:"raw,omitempty"`
}

// Raw describes a deliberately broken request.
type Raw struct {
	// Endpoint: xcpd (default), xca, xdr, or unknown (a path the target does not serve).
	Endpoint string `json:"endpoint,omitempty"`
	// Kind: malformed-xml, not-xml, empty-body, oversized, wrong-action,
	// unknown-action, missing-action, wrong-content-type, soap11,
	// dtd-entity-bomb, external-entity, too-deep, too-many-elements,
	// empty-soap-body, wrong-body, bad-multipart, http-get, valid.
	Kind string `json:"kind"`
}

// Assertion are the assertion parameters of a case. The zero value is a
// valid HCP assertion (and, for XCA and XDR, a valid TRC for the patient) of
// the default role.
type Assertion struct {
	// Role: physician, gp, specialist, nurse, midwife, dentist, pharmacist
	// (default: pharmacist for eP and eD, physician otherwise).
	Role string `json:"role,omitempty"`
	// Permissions replace the role's default XSPA permissions (PRD-006, …).
	Permissions []string `json:"permissions,omitempty"`
	// Purpose of use: TREATMENT (default) or EMERGENCY (anything else is sent as is).
	Purpose string `json:"purpose,omitempty"`
	// HCP and TRC validity: see Validity.
	HCP Validity `json:"hcp,omitempty"`
	TRC Validity `json:"trc,omitempty"`
	// Signer of the assertions: own (default), untrusted (a throwaway CA),
	// other-country (another country's seal of the same PKI), unsigned.
	Signer string `json:"signer,omitempty"`
	// SignerOf limits Signer to one assertion: hcp, trc (default both).
	SignerOf string `json:"signerOf,omitempty"`
	// Tamper: none (default), hcp-after-signing, trc-after-signing.
	Tamper string `json:"tamper,omitempty"`
	// Audience of the HCP assertion, re-signed validly (default the eHDSI one).
	Audience string `json:"audience,omitempty"`
	// TRCPatient names another profile patient the TRC is issued for.
	TRCPatient string `json:"trcPatient,omitempty"`
	// TRCOtherHCP ties the TRC to another (valid) HCP assertion.
	TRCOtherHCP bool `json:"trcOtherHcp,omitempty"`
	OmitHCP     bool `json:"omitHcp,omitempty"`
	OmitTRC     bool `json:"omitTrc,omitempty"`
	// DuplicateHCP sends two HCP assertions.
	DuplicateHCP bool `json:"duplicateHcp,omitempty"`
}

// Validity shifts an assertion's times relative to now (Go durations: "-3h").
type Validity struct {
	// Issued moves IssueInstant (default now).
	Issued string `json:"issued,omitempty"`
	// NotBefore is NotBefore relative to IssueInstant (default -1m).
	NotBefore string `json:"notBefore,omitempty"`
	// ValidFor is NotOnOrAfter relative to IssueInstant (default 1h).
	ValidFor string `json:"validFor,omitempty"`
}

func (v Validity) durations() (issued, notBefore, validFor time.Duration, err error) {
	parse := func(s string, def time.Duration) (time.Duration, error) {
		if s == "" {
			return def, nil
		}
		return time.ParseDuration(s)
	}
	if issued, err = parse(v.Issued, 0); err != nil {
		return
	}
	if notBefore, err = parse(v.NotBefore, -time.Minute); err != nil {
		return
	}
	validFor, err = parse(v.ValidFor, time.Hour)
	return
}

// Expect is the expected outcome of a case.
type Expect struct {
	// Outcome: success, empty, error, fault, refused.
	Outcome string `json:"outcome"`
	// Codes are the acceptable eHDSI codes (fault subcode, acknowledgement
	// detail or RegistryError); a list where eHDSI leaves latitude.
	Codes []string `json:"codes,omitempty"`
	// HTTP lists acceptable HTTP statuses (empty: 200 for success, empty and
	// error; 400 or 500 for faults).
	HTTP []int `json:"http,omitempty"`
	// TransportErrorOK accepts a refused connection or TLS handshake
	// instead of a reply (oversized bodies, missing client certificates).
	TransportErrorOK bool `json:"transportErrorOk,omitempty"`
	// PlainHTTPOK accepts, for a fault outcome, a plain (non-SOAP) HTTP
	// error reply whose status is in HTTP (404, 405, 413, 415).
	PlainHTTPOK bool `json:"plainHttpOk,omitempty"`
	// QueryResponseCode of an XCPD reply: OK, NF, AE.
	QueryResponseCode string `json:"queryResponseCode,omitempty"`
	// Subjects is the exact number of XCPD subjects (nil: not checked).
	Subjects *int `json:"subjects,omitempty"`
	// MinEntries of an XCA query response; AllClass: every entry has the queried class.
	MinEntries int  `json:"minEntries,omitempty"`
	AllClass   bool `json:"allClass,omitempty"`
	// L1AndL3: the listing offers both a structured and a PDF document.
	L1AndL3 bool `json:"l1AndL3,omitempty"`
	// MinDocuments of a retrieve response.
	MinDocuments int `json:"minDocuments,omitempty"`
	// Templates: every retrieved CDA carries one of these document templateIds.
	Templates []string `json:"templates,omitempty"`
	// RegistryStatus of an XCA or XDR response: Success, Failure, PartialSuccess.
	RegistryStatus string `json:"registryStatus,omitempty"`
}

// Profile gives the patient and document ids of one target.
type Profile struct {
	Name            string `json:"name"`
	Description     string `json:"description,omitempty"`
	Country         string `json:"country"`         // the target's country
	HomeCommunityID string `json:"homeCommunityId"` // the target's home community (OID)
	PatientRoot     string `json:"patientRoot"`     // assigning authority of patient ids
	// MaxBodyBytes is the target's request size limit (oversized cases send more).
	MaxBodyBytes int64              `json:"maxBodyBytes,omitempty"`
	Patients     map[string]Patient `json:"patients"`
	// File is where the profile was read from.
	File string `json:"-"`
}

// Patient of a profile.
type Patient struct {
	ID   string `json:"id"`
	Root string `json:"root,omitempty"` // default Profile.PatientRoot
	// OtherIDs are further ids of the same patient the target may answer
	// with (e.g. the current id of a patient asked for by a legacy one).
	OtherIDs  []string `json:"otherIds,omitempty"`
	Given     string   `json:"given,omitempty"`
	Family    string   `json:"family,omitempty"`
	BirthDate string   `json:"birthDate,omitempty"` // YYYY-MM-DD
	Gender    string   `json:"gender,omitempty"`    // M | F
	Note      string   `json:"note,omitempty"`
}

var knownTx = map[string]bool{TxXCPD: true, TxXCAQuery: true, TxXCARetrieve: true, TxXDRSubmit: true, TxXDRDiscard: true, TxRaw: true}
var knownOutcome = map[string]bool{OutcomeSuccess: true, OutcomeEmpty: true, OutcomeError: true, OutcomeFault: true, OutcomeRefused: true}
var knownRaw = map[string]bool{"malformed-xml": true, "not-xml": true, "empty-body": true, "oversized": true, "wrong-action": true,
	"unknown-action": true, "missing-action": true, "wrong-content-type": true, "soap11": true, "dtd-entity-bomb": true,
	"external-entity": true, "too-deep": true, "too-many-elements": true, "empty-soap-body": true, "wrong-body": true,
	"bad-multipart": true, "http-get": true, "valid": true}
var knownDoc = map[string]bool{"": true, "first-l3": true, "first-l1": true, "pair": true, "all": true, "unknown": true}
var knownSigner = map[string]bool{"": true, "own": true, "untrusted": true, "other-country": true, "unsigned": true}
var knownTamper = map[string]bool{"": true, "none": true, "hcp-after-signing": true, "trc-after-signing": true}
var knownBy = map[string]bool{"": true, "id": true, "demographics": true, "id+demographics": true, "none": true}

// decodeStrict reads JSON rejecting unknown fields (a typo in a case file
// must not silently weaken it).
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// ParseCase reads one case file's content; suite is its directory name.
func ParseCase(data []byte, suite string) (Case, error) {
	var c Case
	if err := decodeStrict(data, &c); err != nil {
		return c, err
	}
	if c.Suite == "" {
		c.Suite = suite
	}
	if suite != "" && c.Suite != suite {
		return c, fmt.Errorf("suite %q differs from the directory %q", c.Suite, suite)
	}
	return c, c.validate()
}

func (c *Case) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Name == "" {
		bad("name missing")
	}
	if !knownTx[c.Transaction] {
		bad("transaction %q unknown (xcpd, xca-query, xca-retrieve, xdr-submit, xdr-discard, raw)", c.Transaction)
	}
	if !knownOutcome[c.Expect.Outcome] {
		bad("expect.outcome %q unknown (success, empty, error, fault, refused)", c.Expect.Outcome)
	}
	r := c.Request
	switch c.Transaction {
	case TxRaw:
		if r.Raw == nil || !knownRaw[r.Raw.Kind] {
			bad("raw case needs request.raw.kind (one of the documented kinds)")
		}
	case TxXCAQuery, TxXCARetrieve:
		if r.ClassCode == "" {
			bad("%s needs request.classCode", c.Transaction)
		}
		if r.Patient == "" {
			bad("%s needs request.patient", c.Transaction)
		}
	case TxXDRSubmit, TxXDRDiscard:
		if r.Patient == "" {
			bad("%s needs request.patient", c.Transaction)
		}
	}
	if (c.Transaction == TxXDRSubmit || c.Transaction == TxXDRDiscard) && r.Document != "" && r.Document != "unknown" {
		bad("%s: request.document may only be \"unknown\" (a prescription, or a dispensation, the target does not know)", c.Transaction)
	}
	if c.Transaction == TxXCARetrieve && (r.Document == "" || !knownDoc[r.Document]) {
		bad("xca-retrieve needs request.document: first-l3, first-l1, pair, all or unknown")
	}
	if !knownBy[r.By] {
		bad("request.by %q unknown (id, demographics, id+demographics, none)", r.By)
	}
	a := c.Assertion
	if !knownSigner[a.Signer] {
		bad("assertion.signer %q unknown (own, untrusted, other-country, unsigned)", a.Signer)
	}
	if a.SignerOf != "" && a.SignerOf != "hcp" && a.SignerOf != "trc" {
		bad("assertion.signerOf must be hcp or trc")
	}
	if !knownTamper[a.Tamper] {
		bad("assertion.tamper %q unknown (none, hcp-after-signing, trc-after-signing)", a.Tamper)
	}
	for _, v := range []Validity{a.HCP, a.TRC} {
		if _, _, _, err := v.durations(); err != nil {
			bad("assertion validity: %v", err)
		}
	}
	if (c.Expect.Outcome == OutcomeError || c.Expect.Outcome == OutcomeRefused) && len(c.Expect.Codes) == 0 {
		bad("expect.outcome %s needs expect.codes", c.Expect.Outcome)
	}
	return errors.Join(errs...)
}

// PatientKeys returns the profile patient keys a case refers to.
func (c *Case) PatientKeys() []string {
	var keys []string
	if c.Request.Patient != "" {
		keys = append(keys, c.Request.Patient)
	}
	if c.Assertion.TRCPatient != "" {
		keys = append(keys, c.Assertion.TRCPatient)
	}
	return keys
}

// LoadCases reads every <suite>/<case>.json under dir (an fs.FS root), in
// suite then file name order. Every file must parse.
func LoadCases(fsys fs.FS) ([]Case, error) {
	var cases []Case
	var errs []error
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		suite := path.Base(path.Dir(p))
		if suite == "." {
			suite = "default"
		}
		c, err := ParseCase(data, suite)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			return nil
		}
		c.File = p
		cases = append(cases, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.SliceStable(cases, func(i, j int) bool {
		if cases[i].Suite != cases[j].Suite {
			return suiteRank(cases[i].Suite) < suiteRank(cases[j].Suite)
		}
		return cases[i].File < cases[j].File
	})
	seen := map[string]string{}
	for _, c := range cases {
		if f, dup := seen[c.ID()]; dup {
			errs = append(errs, fmt.Errorf("%s: case %s already defined in %s", c.File, c.ID(), f))
		}
		seen[c.ID()] = c.File
	}
	if len(cases) == 0 {
		errs = append(errs, errors.New("no case files (<suite>/<case>.json)"))
	}
	return cases, errors.Join(errs...)
}

// suiteOrder runs the suites in a sensible order (identification before
// documents before dispensation; unknown suites last, by name).
var suiteOrder = []string{"patient-identification", "patient-summary", "eprescription", "orcd", "edispensation", "security", "robustness"}

func suiteRank(s string) string {
	for i, n := range suiteOrder {
		if n == s {
			return fmt.Sprintf("%02d", i)
		}
	}
	return "99" + s
}

// LoadCasesDir is LoadCases on a directory.
func LoadCasesDir(dir string) ([]Case, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	return LoadCases(os.DirFS(dir))
}

// LoadProfile reads a profile file.
func LoadProfile(file string) (*Profile, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	p, err := ParseProfile(data)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", filepath.Base(file), err)
	}
	p.File = file
	return p, nil
}

// ParseProfile reads a profile's content.
func ParseProfile(data []byte) (*Profile, error) {
	var p Profile
	if err := decodeStrict(data, &p); err != nil {
		return nil, err
	}
	if p.HomeCommunityID == "" || p.PatientRoot == "" {
		return nil, errors.New("homeCommunityId and patientRoot are required")
	}
	for k, pt := range p.Patients {
		if pt.ID == "" && pt.Family == "" {
			return nil, fmt.Errorf("patient %q has neither id nor family name", k)
		}
	}
	if p.MaxBodyBytes == 0 {
		p.MaxBodyBytes = 10 << 20
	}
	return &p, nil
}

// Patient returns the profile patient of key with the root defaulted.
func (p *Profile) Patient(key string) (Patient, bool) {
	pt, ok := p.Patients[key]
	if !ok {
		return pt, false
	}
	if pt.Root == "" {
		pt.Root = p.PatientRoot
	}
	return pt, true
}

// CheckCases reports the cases that refer to patients the profile lacks.
func (p *Profile) CheckCases(cases []Case) error {
	var errs []error
	for _, c := range cases {
		for _, k := range c.PatientKeys() {
			if _, ok := p.Patients[k]; !ok {
				errs = append(errs, fmt.Errorf("%s: patient %q is not in profile %s", c.ID(), k, p.Name))
			}
		}
	}
	return errors.Join(errs...)
}
