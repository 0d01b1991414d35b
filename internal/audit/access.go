package audit

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/ehdsi"
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
	Record       int64     `json:"record"` // sequence number in the audit chain
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
}

// ErrBadMatricule: not a Luxembourg national identification number.
var ErrBadMatricule = errors.New("not a 13-digit matricule")

// NormalizeMatricule removes spaces and checks the form (13 digits).
func NormalizeMatricule(m string) (string, error) {
	m = strings.ReplaceAll(strings.TrimSpace(m), " ", "")
	if len(m) != 13 {
		return "", ErrBadMatricule
	}
	for _, c := range m {
		if c < '0' || c > '9' {
			return "", ErrBadMatricule
		}
	}
	return m, nil
}

// AccessOf returns r's access line when r concerns the patient with the
// given matricule (patient id root ehdsi.OIDMatricule).
func AccessOf(e Entry, matricule string) (Access, bool) {
	ev := e.Record.Event
	found := false
	for _, p := range ev.Patients {
		if p.Root == ehdsi.OIDMatricule && p.Extension == matricule {
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
		Record:       e.Seq,
	}
	return a, true
}

// PatientAccess reads the chain in dir and returns the accesses to the
// patient's data, oldest first. Run Verify to know whether the chain can be
// trusted.
func PatientAccess(dir, matricule string) ([]Access, error) {
	m, err := NormalizeMatricule(matricule)
	if err != nil {
		return nil, err
	}
	out := []Access{}
	err = scan(dir, []byte(`"extension":"`+m+`"`), func(e Entry) error {
		if a, ok := AccessOf(e, m); ok {
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// AccessLog is the JSON document AccessHandler returns.
type AccessLog struct {
	Matricule string   `json:"matricule"`
	Accesses  []Access `json:"accesses"`
}

// AccessHandler serves a patient's access log as JSON. Mount it with a
// {matricule} path wildcard, e.g. GET /api/v1/audit/patients/{matricule},
// behind the same mutual-TLS protection as the rest of the API; without the
// wildcard the last path segment is used. It logs nothing.
func AccessHandler(dir string) http.Handler {
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
		m, err := NormalizeMatricule(m)
		if err != nil {
			http.Error(w, "bad matricule: expected 13 digits", http.StatusBadRequest)
			return
		}
		acc, err := PatientAccess(dir, m)
		if err != nil {
			http.Error(w, "audit log unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(AccessLog{Matricule: m, Accesses: acc})
	})
}
