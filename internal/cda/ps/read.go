package ps

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
)

// Read reads a national Patient Summary of either format, chosen by its
// content type (national.DocumentRef.ContentType): application/fhir+json
// (or application/json) → ReadFHIR; application/xml, text/xml or
// application/hl7-v3+xml → ReadLUCDA. An empty or unknown content type is
// decided by the first non-blank byte.
func Read(data []byte, contentType string, lim Limits) (*Summary, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case strings.HasSuffix(mt, "json"):
		return ReadFHIR(data, lim)
	case strings.HasSuffix(mt, "xml"):
		return ReadLUCDA(data, lim)
	}
	switch t := bytes.TrimSpace(data); {
	case len(t) > 0 && t[0] == '{':
		return ReadFHIR(data, lim)
	case len(t) > 0 && t[0] == '<':
		return ReadLUCDA(data, lim)
	}
	return nil, fmt.Errorf("%w: unknown content type %q", ErrMalformed, contentType)
}
