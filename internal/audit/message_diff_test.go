package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/testutil"
)

// awkward are values that exercise the message's escaping and cleaning:
// XML's five special characters, whitespace that etree keeps in attribute
// values, characters XML 1.0 cannot carry, invalid UTF-8, a lone
// replacement character, non-ASCII text and an empty value.
var awkward = []string{
	"", `<&"'>`, "a\tb\nc\rd", "a\x00b\x1fc", "\xff\xfe", "\uFFFD", "]]>", "Hôpital Łódź 東京 😀",
	"\ufffe\U0010FFFF", "&amp; &lt;", " lead and trail ", "x",
}

// differentialEvents are the golden cases on both sides, each with
// every awkward value in the fields that reach the message as text.
func differentialEvents() map[string]Event {
	out := map[string]Event{}
	for _, tc := range messageCases() {
		for _, side := range []Side{SideA, SideB} {
			base := tc.event
			base.Side = side
			out[fmt.Sprintf("%s/side%d", tc.name, side)] = base
			for i, v := range awkward {
				e := base
				e.HCP.ID, e.HCP.Issuer, e.HCP.Name, e.HCP.Organisation = v, v, v, v
				e.HCP.RoleCode, e.HCP.RoleDisplay = v, v
				e.Consumer.Host, e.Provider.Country = v, v
				if e.Type != EventPivotTranslation {
					e.Consumer.IP = v
				}
				if e.ErrorCode != "" || i%2 == 0 {
					e.Outcome, e.ErrorCode, e.ErrorText = OutcomeMinorFailure, "ERROR_"+v, v
				}
				if len(e.Documents) > 0 {
					e.Documents = []string{v + "1", "2" + v}
				}
				if len(e.Query) > 0 {
					e.Query = []byte(v + "<q/>")
					e.HomeCommunityID = v
				}
				if e.RequestMessageID != "" {
					e.RequestMessageID, e.RequestHeader, e.ResponseHeader = "urn:uuid:"+v, []byte(v), []byte("h"+v)
				}
				e.AuditSourceID = "LU-" + v
				out[fmt.Sprintf("%s/side%d/awkward%02d", tc.name, side, i)] = e
			}
		}
	}
	return out
}

// TestMessageDifferential: the message of every differential event is the
// one the etree-based builder (main at bd487bf) wrote, byte for byte — its
// SHA-256 is in testdata/message/differential.sha256. A failure names the
// event; -update rewrites the list (only for a deliberate change).
func TestMessageDifferential(t *testing.T) {
	evs := differentialEvents()
	names := make([]string, 0, len(evs))
	for n := range evs {
		names = append(names, n)
	}
	sort.Strings(names)
	var list strings.Builder
	for _, n := range names {
		b, err := Message(evs[n])
		h := "error: " + fmt.Sprint(err)
		if err == nil {
			s := sha256.Sum256(b)
			h = hex.EncodeToString(s[:])
		}
		fmt.Fprintf(&list, "%s %s\n", h, n)
	}
	testutil.Golden(t, "message/differential.sha256", []byte(list.String()))
}
