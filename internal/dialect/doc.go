// Package dialect is luxncp's one table of what it says on the MyHealth@EU
// wire in each situation — format codes, event codes, error codes with
// their severity, response status and placement (RegistryError, SOAP Fault
// or XCPD acknowledgement detail), permissions, roles and audit action
// codes — as the partners' OpenNCP-based gateways (konateq/openncp, the
// reference NCPeH of the eHDSI, IHE ITI-38/39/41/55 as eHDSI profiles them)
// send and decide on them.
//
// Partners decide on exact strings, so where OpenNCP and the IHE/eHDSI
// specification disagree this table follows OpenNCP; the differences are
// documented in docs/dialect.md. Every row cites the OpenNCP source it
// mirrors. Every path that writes one of these artefacts reads this table.
package dialect
