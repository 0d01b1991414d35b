package xca_test

import (
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/wssec"
	"github.com/luxncp/luxncp/internal/xca"
)

// TestNothingFoundIsAWarningWithSuccess: a PS list with nothing is
// ERROR_PS_NOT_FOUND as a Warning with Success; OrCD is 1104, a Warning.
func TestNothingFoundIsAWarningWithSuccess(t *testing.T) {
	for _, c := range []struct {
		class  string
		code   ehdsi.Code
		status string
	}{
		{ehdsi.ClassPS, ehdsi.ErrPSNotFound, xca.ResponseSuccess},
		{ehdsi.ClassLab, "1104", xca.ResponseSuccess},
		{ehdsi.ClassEP, ehdsi.ErrEPNotFound, xca.ResponseFailure}, // OpenNCP: Failure with a Warning
	} {
		body := xca.QueryResponse(xca.Listing{Notes: []*ehdsi.Fault{dialect.Fault(dialect.NotFound(c.class), "", nil)}})
		status, _, errs := ncpclient.ParseQueryResponse(body)
		if status != c.status || len(errs) != 1 || errs[0].Code != string(c.code) || errs[0].Severity != string(ehdsi.SeverityWarning) {
			t.Errorf("%s: status %s errs %+v", c.class, status, errs)
		}
	}
}

// TestOrCDEntry: an original clinical document has OpenNCP's OrCD
// formatCode and an XFRM association to itself.
func TestOrCDEntry(t *testing.T) {
	e := xca.Entry{UniqueID: "1.2.3^lab-1", RepositoryUniqueID: "1.2.3", HomeCommunityID: "1.2", ClassCode: ehdsi.ClassLab,
		Level: xca.L1, Patient: wssec.PatientID{Extension: "1", Root: "1.3.182.4.4"}, Created: time.Unix(0, 0)}
	body := xca.QueryResponse(xca.Listing{Entries: []xca.Entry{e}})
	fc := body.FindElement(".//Classification[@classificationScheme='urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d']")
	if fc == nil || fc.SelectAttrValue("nodeRepresentation", "") != "urn:eHDSI:orcd:pdf:2021" {
		t.Errorf("formatCode %v", fc)
	}
	eo := body.FindElement(".//ExtrinsicObject")
	a := body.FindElement(".//Association")
	if a == nil || a.SelectAttrValue("associationType", "") != "urn:ihe:iti:2007:AssociationType:XFRM" ||
		a.SelectAttrValue("sourceObject", "") != eo.SelectAttrValue("id", "") || a.SelectAttrValue("targetObject", "") != eo.SelectAttrValue("id", "") {
		t.Errorf("association %v", a)
	}
}
