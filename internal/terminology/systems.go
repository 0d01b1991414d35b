package terminology

import (
	"fmt"
	"strings"
)

// Code system OIDs as eHDSI pivot CDA uses them.
const (
	OIDATC       = "2.16.840.1.113883.6.73"
	OIDEDQM      = "0.4.0.127.0.16.1.1.2.1"
	OIDUCUM      = "2.16.840.1.113883.6.8"
	OIDSNOMED    = "2.16.840.1.113883.6.96"
	OIDLOINC     = "2.16.840.1.113883.6.1"
	OIDICD10     = "1.3.6.1.4.1.12559.11.10.1.3.1.44.2" // eHDSI's ICD-10 OID
	OIDICD10HL7  = "2.16.840.1.113883.6.3"              // HL7's ICD-10 OID: accepted on input, never emitted
	OIDLUProduct = "1.3.182.4.13"                       // Luxembourg medicinal product codes (10 digits)
	// VSSection is eHDSISection (LOINC section codes).
	VSSection = "1.3.6.1.4.1.12559.11.10.1.3.1.42.26"
)

const (
	oidATC    = OIDATC
	oidEDQM   = OIDEDQM
	oidUCUM   = OIDUCUM
	oidSNOMED = OIDSNOMED
	oidLOINC  = OIDLOINC
	oidICD10  = OIDICD10
)

// systemTable resolves code system identifiers (OIDs, FHIR URIs, urn:oid:,
// legacy aliases such as HL7's ICD-10 OID) to the OID eHDSI CDA uses.
type systemTable struct {
	name  map[string]string // OID → name
	canon map[string]string // any known identifier → OID
}

func parseSystems(b []byte) (*systemTable, error) {
	t, err := readTable("systems.csv", b, ',')
	if err != nil {
		return nil, err
	}
	ix, err := t.need("oid", "name", "uri", "aliases")
	if err != nil {
		return nil, err
	}
	st := &systemTable{name: map[string]string{}, canon: map[string]string{}}
	for _, r := range t.rows {
		oid := get(r, ix[0])
		if oid == "" {
			return nil, fmt.Errorf("systems.csv: empty oid")
		}
		st.name[oid] = get(r, ix[1])
		st.canon[oid] = oid
		st.canon["urn:oid:"+oid] = oid
		if u := get(r, ix[2]); u != "" {
			st.canon[u] = oid
		}
		for _, a := range strings.Fields(get(r, ix[3])) {
			st.canon[a] = oid
			st.canon["urn:oid:"+a] = oid
		}
	}
	return st, nil
}

// oidOf returns the CDA OID for a system identifier; urn:oid:X gives X even
// when X is not listed. ok is false for unknown identifiers.
func (st *systemTable) oidOf(id string) (string, bool) {
	if o, ok := st.canon[id]; ok {
		return o, true
	}
	if o, ok := strings.CutPrefix(id, "urn:oid:"); ok && o != "" {
		return o, true
	}
	return id, false
}

// EnvLicensedDir names the environment variable pointing to a directory of
// licensed eHDSI CTS exports loaded at start (see translations/licensed/README.md).
const EnvLicensedDir = "LUXNCP_TERMINOLOGY_LICENSED_DIR"
