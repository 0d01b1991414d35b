package audit_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
)

// A transaction handler records its event before it answers.
func Example() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	sink, err := audit.OpenFile(filepath.Join(dir, "audit"), audit.FileOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Close()
	rec := &audit.Recorder{Sink: sink, Self: audit.NCP{Country: "LU", Host: "ncp.lu.example"}}

	ev := audit.Event{
		Type:     audit.EventPSRetrieve,
		HCP:      audit.HCP{ID: "dr.example@fr", Name: "Dr Example", RoleCode: "221", RoleDisplay: "Medical Doctors", Organisation: "Hopital Exemple", Country: "FR"},
		Consumer: audit.NCP{Country: "FR", Host: "ncp.fr.example", IP: "192.0.2.10"},
		Patients: []audit.PatientID{{Root: ehdsi.OIDMatricule, Extension: "1990010112385"}},
	}
	ev.SetOutcome(ehdsi.App(ehdsi.ErrPSNoConsent, "", nil)) // the transaction's error, or nil
	if err := rec.Record(context.Background(), ev); err != nil {
		log.Fatal(err) // not audited: do not answer as if it were
	}

	rep, _ := audit.Verify(filepath.Join(dir, "audit"))
	log, _ := audit.PatientAccess(context.Background(), audit.DirReader{Dir: filepath.Join(dir, "audit")}, nil, "1990010112385")
	acc := log.Accesses
	fmt.Println(rep.OK(), rep.Records, acc[0].Country, acc[0].What, acc[0].Outcome, acc[0].ErrorCode)
	// Output: true 1 FR retrieved the Patient Summary minor failure ERROR_PS_NO_CONSENT
}
