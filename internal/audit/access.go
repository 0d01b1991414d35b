package audit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/matricule"
)

// Access is one line of a patient's access log: who touched which of the
// patient's data, from where, when, and with what result.
type Access struct {
	Time         time.Time `json:"time"`
	Event        EventType `json:"event"`
	What         string    `json:"what"`
	Outcome      string    `json:"outcome"`
	ErrorCode    string    `json:"errorCode,omitempty"`
	Professional string    `json:"professional,omitempty"`
	Role         string    `json:"role,omitempty"`
	Organisation string    `json:"organisation,omitempty"`
	Country      string    `json:"country,omitempty"`
	Documents    []string  `json:"documents,omitempty"`
	// Identifier: the patient identifier as the caller sent it.
	Identifier string `json:"identifier,omitempty"`
	Record     int64  `json:"record"`             // sequence number in the local audit chain (0 in S3 and in the operator log)
	RecordID   string `json:"recordId,omitempty"` // the record's urn:uuid
}

var what = map[EventType]string{
	EventIdentification:       "identified the patient",
	EventPSList:               "listed Patient Summaries",
	EventPSRetrieve:           "retrieved the Patient Summary",
	EventEPList:               "listed ePrescriptions",
	EventEPRetrieve:           "retrieved ePrescriptions",
	EventOrCDList:             "listed original clinical documents",
	EventOrCDRetrieve:         "retrieved original clinical documents",
	EventDispensationSubmit:   "recorded a dispensation",
	EventDispensationDiscard:  "discarded a dispensation",
	EventHCPAssertion:         "authenticated a health professional",
	EventTRCAssertion:         "confirmed the treatment relationship",
	EventPivotTranslation:     "translated a document",
	EventCommunicationFailure: "communication failure",
	EventAccessLogRead:        "read this access log",
	EventOutboxReplay:         "an operator re-queued an undelivered dispensation for the national record",
	EventOutboxResolve:        "an operator closed an undelivered dispensation (not recorded nationally)",
}

// whatIn and outcomeIn are the access log's words in French and German
// (English is what and Outcome.String).
var whatIn = map[string]map[EventType]string{
	"fr": {
		EventIdentification: "a identifié le patient", EventPSList: "a listé les résumés patient", EventPSRetrieve: "a consulté le résumé patient",
		EventEPList: "a listé les ordonnances électroniques", EventEPRetrieve: "a consulté des ordonnances électroniques",
		EventOrCDList: "a listé les documents cliniques originaux", EventOrCDRetrieve: "a consulté des documents cliniques originaux",
		EventDispensationSubmit: "a enregistré une délivrance", EventDispensationDiscard: "a annulé une délivrance",
		EventHCPAssertion: "a authentifié un professionnel de santé", EventTRCAssertion: "a confirmé la relation de soins",
		EventPivotTranslation: "a traduit un document", EventCommunicationFailure: "échec de communication", EventAccessLogRead: "a lu ce journal des accès",
		EventOutboxReplay:  "un opérateur a relancé l'envoi d'une délivrance au registre national",
		EventOutboxResolve: "un opérateur a clos une délivrance non transmise (non enregistrée au registre national)",
	},
	"de": {
		EventIdentification: "hat die Patientin / den Patienten identifiziert", EventPSList: "hat Patientenkurzakten aufgelistet", EventPSRetrieve: "hat die Patientenkurzakte abgerufen",
		EventEPList: "hat elektronische Verschreibungen aufgelistet", EventEPRetrieve: "hat elektronische Verschreibungen abgerufen",
		EventOrCDList: "hat klinische Originaldokumente aufgelistet", EventOrCDRetrieve: "hat klinische Originaldokumente abgerufen",
		EventDispensationSubmit: "hat eine Abgabe erfasst", EventDispensationDiscard: "hat eine Abgabe storniert",
		EventHCPAssertion: "hat eine Gesundheitsfachperson authentifiziert", EventTRCAssertion: "hat das Behandlungsverhältnis bestätigt",
		EventPivotTranslation: "hat ein Dokument übersetzt", EventCommunicationFailure: "Kommunikationsfehler", EventAccessLogRead: "hat dieses Zugriffsprotokoll gelesen",
		EventOutboxReplay:  "ein Operator hat eine nicht übermittelte Abgabe erneut an das nationale Register gesendet",
		EventOutboxResolve: "ein Operator hat eine nicht übermittelte Abgabe geschlossen (nicht im nationalen Register erfasst)",
	},
}

var outcomeIn = map[string]map[string]string{
	"fr": {"success": "réussi", "minor failure": "échec partiel", "serious failure": "refusé ou échoué", "major failure": "échec grave"},
	"de": {"success": "erfolgreich", "minor failure": "teilweise fehlgeschlagen", "serious failure": "abgelehnt oder fehlgeschlagen", "major failure": "schwerer Fehler"},
}

// Languages of the access log: English, French, German.
var Languages = []string{"en", "fr", "de"}

// Localise puts the log's words (what, outcome) in lang (fr, de; anything
// else: en) and records the language.
func (l *AccessLog) Localise(lang string) {
	lang = strings.ToLower(lang)
	if !slices.Contains(Languages, lang) {
		lang = "en"
	}
	l.Lang = lang
	if lang == "en" {
		return
	}
	for i := range l.Accesses {
		a := &l.Accesses[i]
		if w, ok := whatIn[lang][a.Event]; ok {
			a.What = w
		}
		if o, ok := outcomeIn[lang][a.Outcome]; ok {
			a.Outcome = o
		}
	}
}

// language is the log language a request asks for: ?lang=, else the
// first of Accept-Language luxncp speaks, else English.
func language(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l != "" {
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(tag, "-")
		if base = strings.ToLower(base); slices.Contains(Languages, base) {
			return base
		}
	}
	return "en"
}

// ErrBadMatricule: not a Luxembourg national identification number
// (13-digit or legacy 11-digit matricule).
var ErrBadMatricule = errors.New("not a matricule")

// PatientReader reads the records indexed under one patient key
// (PatientKey), in any order, without scanning the whole store. FileSink,
// DirReader and the S3 sink implement it.
type PatientReader interface {
	PatientEntries(ctx context.Context, key string) ([]Entry, error)
}

// AccessOf returns e's access line when e concerns one of the patient keys.
func AccessOf(e Entry, keys []string) (Access, bool) {
	ev := e.Record.Event
	found := false
	for _, k := range ev.PatientKeys() {
		if slices.Contains(keys, k) {
			found = true
			break
		}
	}
	if !found {
		return Access{}, false
	}
	country := ev.HCP.Country
	if country == "" {
		country = ev.Consumer.Country
	}
	role := ev.HCP.RoleDisplay
	if role == "" {
		role = ev.HCP.RoleCode
	}
	a := Access{
		Time:         ev.Time.UTC(),
		Event:        ev.Type,
		What:         what[ev.Type],
		Outcome:      ev.Outcome.String(),
		ErrorCode:    ev.ErrorCode,
		Professional: ev.HCP.Name,
		Role:         role,
		Organisation: ev.HCP.Organisation,
		Country:      country,
		Documents:    ev.Documents,
		Identifier:   sentIdentifier(ev),
		Record:       e.Seq,
		RecordID:     e.Record.ID,
	}
	return a, true
}

// sentIdentifier is the Luxembourg identifier as the caller sent it: the
// one after the canonical identifier Recorder put first, else the first.
func sentIdentifier(ev Event) string {
	first := ""
	for _, p := range ev.Patients {
		if p.Root != ehdsi.OIDMatricule {
			continue
		}
		if first != "" {
			return p.Extension
		}
		first = p.Extension
		if first != ev.Patient {
			return first
		}
	}
	return first
}

// PatientAccess returns the accesses to the data of the patient named by
// id in any form (separators, legacy 11-digit id), oldest first: the
// records indexed under every national identifier of the patient (resolve
// may be nil: then under the canonical form of id only). Run Verify to know
// whether the store can be trusted.
func PatientAccess(ctx context.Context, store PatientReader, resolve Resolver, id string) (AccessLog, error) {
	keys, err := QueryKeys(ctx, id, resolve)
	if err != nil {
		return AccessLog{}, err
	}
	// Read every key; a record that maps a legacy id to its canonical
	// matricule (the register's answer when it was written) adds the other
	// form, so an offline reader (the CLI) finds both too.
	var ents []Entry
	for i := 0; i < len(keys); i++ {
		got, err := store.PatientEntries(ctx, keys[i])
		if err != nil {
			return AccessLog{}, err
		}
		for _, e := range got {
			if canon, leg, ok := legacyPair(e.Record.Event); ok && (slices.Contains(keys, canon) || slices.Contains(keys, leg)) {
				for _, k := range []string{canon, leg} {
					if !slices.Contains(keys, k) {
						keys = append(keys, k)
					}
				}
			}
		}
		ents = append(ents, got...)
	}
	log := AccessLog{Matricule: PatientKey(id), Accesses: []Access{}}
	if len(keys) > 1 {
		log.Identifiers = keys
	}
	seen := map[string]bool{}
	for _, e := range ents {
		if seen[e.Record.ID] {
			continue
		}
		if a, ok := AccessOf(e, keys); ok {
			seen[e.Record.ID] = true
			log.Accesses = append(log.Accesses, a)
		}
	}
	sort.SliceStable(log.Accesses, func(i, j int) bool {
		a, b := log.Accesses[i], log.Accesses[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.Record < b.Record
	})
	return log, nil
}

// legacyPair is the (canonical, legacy) pair a record carries when the
// register mapped the legacy id it was sent with to a 13-digit matricule.
func legacyPair(ev Event) (canonical, legacy string, ok bool) {
	if len(ev.Patient) != 13 {
		return "", "", false
	}
	for _, p := range ev.Patients {
		if k := PatientKey(p.Extension); p.Root == ehdsi.OIDMatricule && len(k) == 11 {
			if _, err := matricule.Parse(k); err == nil {
				return ev.Patient, k, true
			}
		}
	}
	return "", "", false
}

// AccessLog is the JSON document AccessHandler returns.
type AccessLog struct {
	// Matricule: the identifier asked for, canonicalised.
	Matricule string `json:"matricule"`
	// Identifiers: every national identifier of the patient the log
	// covers, when there are several (13-digit and legacy).
	Identifiers []string `json:"identifiers,omitempty"`
	// Lang: the language of what and outcome (en, fr, de).
	Lang     string   `json:"lang,omitempty"`
	Accesses []Access `json:"accesses"`
}

// AccessHandler serves a patient's access log as JSON. Mount it with a
// {matricule} path wildcard, e.g. GET /api/v1/audit/patients/{matricule},
// behind the same mutual-TLS protection as the rest of the API; without the
// wildcard the last path segment is used. Any form of the matricule is
// accepted (13-digit or legacy, with separators). The words are in the
// language of ?lang= or Accept-Language (en, fr, de). A nil store answers 503:
// an empty log would be a lie. It logs nothing.
func AccessHandler(store PatientReader, resolve Resolver) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		m := r.PathValue("matricule")
		if m == "" {
			m = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		}
		if store == nil {
			http.Error(w, "audit log unavailable on this host", http.StatusServiceUnavailable)
			return
		}
		log, err := PatientAccess(r.Context(), store, resolve, m)
		switch {
		case errors.Is(err, ErrBadMatricule):
			http.Error(w, "bad matricule: expected 13 digits (or the legacy 11)", http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, "audit log unavailable", http.StatusServiceUnavailable)
			return
		}
		log.Localise(language(r))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Language", log.Lang)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(log)
	})
}
