package cda

import (
	"errors"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// EPFault classifies an error of the ePrescription transform as the eHDSI
// application fault an XCA retrieve reports: a Required coded element that
// does not transcode is ERROR_EP_MISSING_EXPECTED_MAPPING, a national
// prescription lacking what the pivot document requires
// ERROR_EP_MISSING_REQUIRED_FIELDS, anything else ERROR_EP_INTERNAL_ERROR.
// The cause stays in Fault.Cause (it may name codes, never patient data).
func EPFault(err error) *ehdsi.Fault {
	var te *TranscodeError
	var ie *InputError
	switch {
	case errors.As(err, &te):
		return ehdsi.App(ehdsi.ErrEPMissingExpectedMapping, "a required coded element of the ePrescription could not be transcoded ("+te.Element+")", err)
	case errors.As(err, &ie):
		return ehdsi.App(ehdsi.ErrEPMissingRequiredFields, "the national prescription lacks a field the ePrescription requires ("+ie.Field+")", err)
	}
	return ehdsi.Receiver(ehdsi.ErrEPInternalError, "", err)
}
