package cda

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// FHIR systems used in the MedicationDispense.
const (
	fhirATC  = "http://www.whocc.no/atc"
	fhirEDQM = "http://standardterms.edqm.eu"
	// ExtDispenseCountry on MedicationDispense: the ISO 3166 country where
	// the medicine was dispensed (valueCode).
	ExtDispenseCountry = "https://luxncp.lu/fhir/StructureDefinition/dispense-country"
)

// fhirSystem turns a CDA code system OID into a FHIR system URI.
func fhirSystem(oid string) string {
	switch oid {
	case OIDATC:
		return fhirATC
	case OIDEDQM:
		return fhirEDQM
	case OIDUCUM:
		return "http://unitsofmeasure.org"
	}
	return "urn:oid:" + oid
}

func identifierOf(id II) map[string]string {
	if id.Extension == "" {
		return map[string]string{"system": "urn:ietf:rfc:3986", "value": "urn:oid:" + id.Root}
	}
	return map[string]string{"system": "urn:oid:" + id.Root, "value": id.Extension}
}

type mdCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type mdQuantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	System string  `json:"system,omitempty"`
	Code   string  `json:"code,omitempty"`
}

type mdRef struct {
	Reference  string            `json:"reference,omitempty"`
	Identifier map[string]string `json:"identifier,omitempty"`
	Display    string            `json:"display,omitempty"`
}

type medicationDispense struct {
	ResourceType string              `json:"resourceType"`
	Extension    []map[string]string `json:"extension,omitempty"`
	Identifier   []map[string]string `json:"identifier"`
	Status       string              `json:"status"`
	Medication   struct {
		Coding []mdCoding `json:"coding,omitempty"`
		Text   string     `json:"text,omitempty"`
	} `json:"medicationCodeableConcept"`
	Subject   mdRef `json:"subject"`
	Performer []struct {
		Actor mdRef `json:"actor"`
	} `json:"performer,omitempty"`
	AuthorizingPrescription []mdRef     `json:"authorizingPrescription"`
	Quantity                *mdQuantity `json:"quantity,omitempty"`
	WhenHandedOver          string      `json:"whenHandedOver,omitempty"`
	Substitution            struct {
		WasSubstituted bool `json:"wasSubstituted"`
	} `json:"substitution"`
	Note []map[string]string `json:"note,omitempty"`
}

// MedicationDispense maps item i of the eDispensation to a FHIR R4
// MedicationDispense for the national system: identifier = the
// eDispensation document id (the idempotency key; per item when there are
// several), status completed, authorizingPrescription →
// MedicationRequest/<prescriptionID>, subject = the patient by matricule.
func (d *Dispensation) MedicationDispense(i int, prescriptionID, matricule string) ([]byte, error) {
	if i < 0 || i >= len(d.Items) {
		return nil, fmt.Errorf("item %d of %d", i, len(d.Items))
	}
	if prescriptionID == "" || matricule == "" {
		return nil, missing("national prescription id and matricule")
	}
	it := d.Items[i]
	md := medicationDispense{ResourceType: "MedicationDispense", Status: "completed"}
	if d.Country != "" {
		md.Extension = []map[string]string{{"url": ExtDispenseCountry, "valueCode": d.Country}}
	}
	idf := identifierOf(d.DocumentID)
	if len(d.Items) > 1 {
		idf["value"] += fmt.Sprintf("#%d", i+1)
	}
	md.Identifier = []map[string]string{idf}
	p := it.Product
	if p.Code.Code != "" && p.Code.System != "" {
		md.Medication.Coding = append(md.Medication.Coding, mdCoding{fhirSystem(p.Code.System), p.Code.Code, p.Code.Display})
	}
	if p.ATC.Code != "" {
		md.Medication.Coding = append(md.Medication.Coding, mdCoding{fhirATC, p.ATC.Code, p.ATC.Display})
	}
	if p.Package.Code != "" && p.Package.System != "" {
		md.Medication.Coding = append(md.Medication.Coding, mdCoding{fhirSystem(p.Package.System), p.Package.Code, ""})
	}
	md.Medication.Text = strings.TrimSpace(strings.Join([]string{p.Name, p.Description}, " "))
	md.Subject = mdRef{Identifier: map[string]string{"system": "urn:oid:" + OIDMatricule, "value": matricule}}
	disp := it.Dispenser
	actor := mdRef{Display: strings.TrimSpace(fullName(disp.Name))}
	if org := disp.Organization.Name; org != "" {
		actor.Display = strings.TrimSpace(actor.Display + " (" + org + ", " + d.Country + ")")
	}
	if len(disp.IDs) > 0 {
		actor.Identifier = identifierOf(disp.IDs[0])
	}
	md.Performer = append(md.Performer, struct {
		Actor mdRef `json:"actor"`
	}{actor})
	md.AuthorizingPrescription = []mdRef{{Reference: "MedicationRequest/" + prescriptionID}}
	if it.Quantity.Value > 0 {
		md.Quantity = &mdQuantity{Value: it.Quantity.Value, Unit: "package"}
	}
	if !it.Time.IsZero() {
		md.WhenHandedOver = it.Time.Format(time.RFC3339)
	}
	md.Substitution.WasSubstituted = it.Substituted
	if p.PackSize.Value > 0 {
		md.Note = []map[string]string{{"text": "Package size: " + p.PackSize.String()}}
	}
	return json.Marshal(md)
}
