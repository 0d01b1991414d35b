package xca

import "github.com/luxncp/luxncp/internal/wssec"

func wssecPatient(p *auditPatient) wssec.PatientID {
	return wssec.PatientID{Extension: p.ext, Root: p.root}
}
