package national

import (
	"fmt"
	"reflect"

	"github.com/luxncp/luxncp/internal/national/fhirr4"
)

// SearchsetOnePassDiffers compares parseSearchsetAs with the reference
// decodeSearchset on body for every resource type the Client searches:
// "" when both give the same resources and the same error text.
func SearchsetOnePassDiffers(body []byte) string {
	for _, d := range []string{
		differs(body, "Patient", func(p *fhirr4.Patient) string { return p.ResourceType }),
		differs(body, "Consent", func(c *fhirr4.Consent) string { return c.ResourceType }),
		differs(body, "DocumentReference", func(d *fhirr4.DocumentReference) string { return d.ResourceType }),
		differs(body, "MedicationDispense", func(m *fhirr4.MedicationDispense) string { return m.ResourceType }),
	} {
		if d != "" {
			return d
		}
	}
	return ""
}

func differs[T any](body []byte, want string, typeOf func(*T) string) string {
	got, gerr := parseSearchsetAs(body, want, typeOf)
	ref, rerr := decodeSearchset[T](body, want)
	if fmt.Sprint(gerr) != fmt.Sprint(rerr) {
		return fmt.Sprintf("%s: error %v, reference %v", want, gerr, rerr)
	}
	if rerr == nil && !reflect.DeepEqual(got, ref) {
		return fmt.Sprintf("%s: %+v, reference %+v", want, got, ref)
	}
	return ""
}

// ReadBody is readBody.
var ReadBody = readBody
