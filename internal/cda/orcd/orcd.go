package orcd

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/terminology"
)

// Kind is one kind of original clinical document.
type Kind struct {
	ClassCode string // LOINC class code (XDS classCode and ClinicalDocument/code)
	Display   string // English LOINC display (eHDSI MVC)
	Template  string // eHDSI document template id
	ValueSet  string // eHDSI value set of ClinicalDocument/code
	TitleFR   string
}

// The three kinds Luxembourg offers.
var (
	Laboratory = Kind{ehdsi.ClassLab, "Laboratory report", ehdsi.TemplateORCDLab, "1.3.6.1.4.1.12559.11.10.1.3.1.42.52", "Compte rendu de laboratoire"}
	Discharge  = Kind{ehdsi.ClassDischarge, "Hospital Discharge summary", ehdsi.TemplateORCDDischarge, "1.3.6.1.4.1.12559.11.10.1.3.1.42.53", "Lettre de sortie d'hospitalisation"}
	Imaging    = Kind{ehdsi.ClassImaging, "Diagnostic imaging study", ehdsi.TemplateORCDImaging, "1.3.6.1.4.1.12559.11.10.1.3.1.42.54", "Compte rendu d'imagerie médicale"}
)

// KindOf returns the kind of a class code.
func KindOf(classCode string) (Kind, bool) {
	for _, k := range []Kind{Laboratory, Discharge, Imaging} {
		if k.ClassCode == classCode {
			return k, true
		}
	}
	return Kind{}, false
}

// Input is one national original clinical document and what is known about it.
type Input struct {
	ClassCode string // 11502-2, 34105-7 or 18748-4
	Title     string
	Created   time.Time
	Patient   cda.Patient
	// Author is the authoring professional; when its name is empty,
	// AuthorName (the national "author" display) is parsed with ParseAuthor.
	Author     cda.Author
	AuthorName string
	Custodian  cda.Organization
	// Source is the national document id (relatedDocument/parentDocument);
	// zero: derived from the content hash.
	Source cda.II
	PDF    []byte
}

// Options configure Build. Terminology is required.
type Options struct {
	Terminology cda.Terminology
	// Language of the document (nn-CC); default "fr-LU".
	Language string
	// IDRoot roots the minted document ids; default DefaultIDRoot.
	IDRoot string
	// MaxPDF bounds the embedded PDF; default 20 MiB.
	MaxPDF int
	// Custodian is the organisation keeping the national record; zero
	// means Input.Custodian, else DefaultCustodian.
	Custodian cda.Organization
}

// DefaultCustodian is the keeper of Luxembourg's shared care record.
var DefaultCustodian = cda.Organization{
	IDs:  []cda.II{{Root: ehdsi.OIDLUOrganisation, Extension: "10000734"}},
	Name: "Agence eSanté Luxembourg",
	Addr: cda.Address{Lines: []string{"125 route d'Esch"}, City: "Luxembourg", PostalCode: "1471", Country: "LU"},
}

// DefaultIDRoot is the id root of OrCD documents luxncp mints (home community id, arc 3).
const DefaultIDRoot = ehdsi.HomeCommunityLU + ".3"

// Document is a generated OrCD document.
type Document struct {
	ID      cda.II
	Hash    string // hex SHA-256 over the PDF and its metadata
	Kind    Kind
	Title   string
	Created time.Time
	// FormatCode/FormatScheme: the XDS formatCode of a PDF-embedded document.
	FormatCode, FormatScheme string
	Language                 string
	XML                      []byte
}

// Errors of Build, wrapped in an *ehdsi.Fault.
var (
	ErrUnknownClass = errors.New("orcd: class code not an original clinical document")
	ErrNotPDF       = errors.New("orcd: content is not a PDF")
)

// Build wraps in.PDF into the eHDSI OrCD document of its class. Faults
// carry ERROR_ORCD_GENERIC (bad input) or the transcoding codes of the header.
func Build(in Input, opt Options) (*Document, error) {
	k, ok := KindOf(in.ClassCode)
	if !ok {
		return nil, ehdsi.App(ehdsi.ErrGenericServiceSignifier, ehdsi.Describe(ehdsi.ErrGenericServiceSignifier), fmt.Errorf("%w: %q", ErrUnknownClass, in.ClassCode))
	}
	max := opt.MaxPDF
	if max <= 0 {
		max = 20 << 20
	}
	if len(in.PDF) < 5 || string(in.PDF[:5]) != "%PDF-" || len(in.PDF) > max {
		return nil, ehdsi.App(ehdsi.ErrORCDGeneric, ehdsi.Describe(ehdsi.ErrORCDGeneric), ErrNotPDF)
	}
	if opt.Terminology == nil {
		return nil, errors.New("orcd: Options.Terminology is nil")
	}
	if len(in.Patient.IDs) == 0 || in.Created.IsZero() {
		return nil, ehdsi.App(ehdsi.ErrORCDGeneric, "The original clinical document lacks a patient identifier or a date.", cda.ErrMissing)
	}
	root := opt.IDRoot
	if root == "" {
		root = DefaultIDRoot
	}
	lang := opt.Language
	if lang == "" {
		lang = "fr-LU"
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", k.ClassCode, in.Title, in.Created.UTC().Format(time.RFC3339), in.Patient.IDs[0].Extension)
	h.Write(in.PDF)
	sum := hex.EncodeToString(h.Sum(nil))
	id := cda.II{Root: root, Extension: sum[:32]}
	author := in.Author
	if author.Name.Family == "" {
		a := ParseAuthor(in.AuthorName)
		a.Function, a.IDs = author.Function, author.IDs
		author = a
	}
	if author.Time.IsZero() {
		author.Time = in.Created
	}
	if len(author.IDs) == 0 {
		// Known only by its display: a luxncp-local id for that display
		// (eHDSI requires an author and legal authenticator id).
		ah := sha256.Sum256([]byte(in.AuthorName))
		author.IDs = []cda.II{{Root: root + ".4", Extension: hex.EncodeToString(ah[:8])}}
	}
	if author.Organization.Name != "" && author.Organization.Addr.Country == "" {
		author.Organization.Addr.Country = "LU" // documents of the Luxembourg record
	}
	cust := opt.Custodian
	if cust.Name == "" {
		cust = in.Custodian
	}
	if cust.Name == "" {
		cust = DefaultCustodian
	}
	if len(cust.IDs) == 0 {
		cust.IDs = []cda.II{{Root: ehdsi.HomeCommunityLU}}
	}
	if author.Organization.Name == "" {
		author.Organization = cust
	}
	parent := in.Source
	if parent.Root == "" {
		parent = cda.II{Root: root, Extension: sum[32:]}
	}
	title := in.Title
	if title == "" {
		title = k.TitleFR
	}
	hdr := cda.Header{
		Doc:                terminology.DocPSL1,
		TemplateIDs:        []string{k.Template},
		ID:                 id,
		Code:               terminology.Coding{Code: k.ClassCode, System: ehdsi.LOINC, Display: k.Display},
		Title:              title,
		EffectiveTime:      in.Created,
		Language:           lang,
		SetID:              id,
		Version:            1,
		Patient:            in.Patient,
		Authors:            []cda.Author{author},
		Custodian:          cust,
		LegalAuthenticator: author.Professional,
		LegalAuthTime:      author.Time,
		ServiceEvent:       &cda.ServiceEvent{ClassCode: "PCPR", High: in.Created},
		ParentDocument:     &parent,
	}
	xml, err := cda.BuildL1(hdr, kindTerm{opt.Terminology, k}, in.PDF)
	if err != nil {
		var te *cda.TranscodeError
		if errors.As(err, &te) {
			return nil, ehdsi.App(ehdsi.ErrRequiredCodedElementNotTranscoded, ehdsi.Describe(ehdsi.ErrRequiredCodedElementNotTranscoded), err)
		}
		return nil, ehdsi.App(ehdsi.ErrORCDGeneric, ehdsi.Describe(ehdsi.ErrORCDGeneric), err)
	}
	return &Document{ID: id, Hash: sum, Kind: k, Title: title, Created: in.Created,
		FormatCode: dialect.FormatOrCDPDF, FormatScheme: "eHDSI formatCodes", Language: lang, XML: xml}, nil
}

// kindTerm binds ClinicalDocument/code to the OrCD value set of the kind
// (cda.NewDocument binds it to eHDSIDocumentCode, which holds no OrCD code).
type kindTerm struct {
	cda.Terminology
	k Kind
}

func (t kindTerm) Transcode(vs string, c terminology.Coding) (terminology.Transcoded, error) {
	if vs == cda.VSDocumentCode && c.Code == t.k.ClassCode && c.System == ehdsi.LOINC {
		if r, err := t.Terminology.Transcode(t.k.ValueSet, c); err == nil && r.MVC.Code != "" {
			return r, nil
		}
		// The class codes are the eHDSI value sets' only members.
		return terminology.Transcoded{MVC: terminology.Coding{Code: c.Code, System: c.System, SystemName: "LOINC", Display: t.k.Display}}, nil
	}
	return t.Terminology.Transcode(vs, c)
}

// ParseAuthor reads a national author display, "Dr Given Family,
// Organisation" (title, organisation optional), into an author.
func ParseAuthor(s string) cda.Author {
	var a cda.Author
	person, org, _ := strings.Cut(s, ",")
	org = strings.TrimSpace(org)
	fields := strings.Fields(person)
	if len(fields) > 0 && (fields[0] == "Dr" || fields[0] == "Dr." || fields[0] == "Pr" || fields[0] == "Prof.") {
		a.Name.Prefix = []string{fields[0]}
		fields = fields[1:]
	}
	switch len(fields) {
	case 0:
	case 1:
		a.Name.Family = fields[0]
	default:
		a.Name.Given = fields[:len(fields)-1]
		a.Name.Family = fields[len(fields)-1]
	}
	if org != "" {
		a.Organization = cda.Organization{Name: org}
	}
	return a
}
