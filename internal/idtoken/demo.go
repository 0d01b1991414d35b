package idtoken

import (
	"slices"
	"strings"
)

// DemoPerson is one invented person the development issuer knows.
type DemoPerson struct {
	Kind   string // professional | patient | supervisor
	Key    string // what `luxncp token` takes: the professional id, the matricule, the supervisor id
	Note   string
	Claims Claims
}

// Demo people: professionals of several roles and organisations (one who
// logged in without a second factor), patients of the demo national record
// and a data-protection officer. Every one is invented.
func DemoPeople() []DemoPerson {
	pro := func(id, name, role, org, orgID, facility, locality, acr string, amr []string, note string) DemoPerson {
		c := Claims{Name: name, HCPID: id, Role: role, Organisation: org, OrganisationID: orgID, FacilityType: facility, Locality: locality, ACR: acr, AMR: amr}
		c.Subject = "hcp:" + id
		return DemoPerson{Kind: "professional", Key: id, Note: note, Claims: c}
	}
	pat := func(m, name string) DemoPerson {
		c := Claims{Name: name, Matricule: m, ACR: ACRSubstantial, AMR: []string{"pwd", "otp"}}
		c.Subject = "citizen:" + m
		return DemoPerson{Kind: "patient", Key: m, Note: "patient (national portal login)", Claims: c}
	}
	dpo := Claims{Name: "Claire Becker (DPO)", Roles: []string{RoleDataProtection}, ACR: ACRHigh, AMR: []string{"sc", "pin"}}
	dpo.Subject = "staff:lu-dpo-0001"
	return []DemoPerson{
		pro("lu-hcp-2001", "Dr Marc Weber", "physician", "Centre Hospitalier Emile Mayrisch", "urn:oid:1.3.182.4.2.1001", "Hospital", "Esch-sur-Alzette",
			ACRHigh, []string{"sc", "pin"}, "physician, smartcard login"),
		pro("lu-hcp-2003", "Dr Julie Hansen", "physician", "Centre Hospitalier de Luxembourg", "urn:oid:1.3.182.4.2.1002", "Hospital", "Luxembourg",
			ACRSubstantial, []string{"pwd", "otp"}, "physician, one-time code login"),
		pro("lu-nurse-4001", "Laura Hoffmann", "nurse", "Centre Hospitalier de Luxembourg", "urn:oid:1.3.182.4.2.1002", "Hospital", "Luxembourg",
			ACRSubstantial, []string{"pwd", "sms"}, "nurse, SMS code login"),
		pro("lu-pharm-3001", "Sophie Muller", "pharmacist", "Pharmacie de la Gare", "urn:oid:1.3.182.4.2.3001", "Pharmacy", "Luxembourg",
			ACRSubstantial, []string{"pwd", "otp"}, "pharmacist, one-time code login"),
		pro("lu-hcp-2002", "Dr Paul Klein", "physician", "Cabinet médical Klein", "urn:oid:1.3.182.4.2.2001", "Resident Physician", "Diekirch",
			ACRLow, []string{"pwd"}, "physician WITHOUT a second factor: refused"),
		pat("1971011007114", "Thomas Lefebvre"),
		pat("1962031411774", "Paul Thill"),
		pat("1958041200856", "Marie Schmit"),
		{Kind: "supervisor", Key: "lu-dpo-0001", Note: "data-protection officer: reads any access log", Claims: dpo},
	}
}

// DemoPersonOf returns the demo person of kind with key.
func DemoPersonOf(kind, key string) (DemoPerson, bool) {
	i := slices.IndexFunc(DemoPeople(), func(p DemoPerson) bool { return p.Kind == kind && strings.EqualFold(p.Key, key) })
	if i < 0 {
		return DemoPerson{}, false
	}
	return DemoPeople()[i], true
}
