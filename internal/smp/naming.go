package smp

import (
	"crypto/md5" //nolint:gosec // the SML CNAME rule is MD5 by definition, not a security use
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"net/url"
	"strings"
)

// Identifier schemes and fixed identifiers of eHDSI service metadata.
const (
	// NS is the OASIS BDXR SMP 1.0 (2016/05) namespace eHDSI SMPs serve.
	NS = "http://docs.oasis-open.org/bdxr/ns/SMP/2016/05"
	// ParticipantScheme is the scheme of urn:ehealth:<cc>:ncp-idp.
	ParticipantScheme = "ehealth-participantid-qns"
	// DocumentScheme is the scheme of the transaction (document) ids.
	DocumentScheme = "ehealth-resid-qns"
	// ProcessScheme is the scheme of the process ids.
	ProcessScheme = "ehealth-procid-qns"
	// ISMDocumentID is the International Search Mask's document id
	// (OpenNCP RegisteredService EHEALTH_107).
	ISMDocumentID = "urn:ehealth:ISM::InternationalSearchMask##ehealth-107"
	// TransportNone is the transport profile of the ISM endpoint, which is
	// not a service (OpenNCP's SMP generator).
	TransportNone = "urn:ehealth:transport:none"
	// NAPTRService is the U-NAPTR service of an SMP (BDXL / eDelivery).
	NAPTRService = "Meta:SMP"
)

// NAPTRHost is the SML (BDXL) DNS name of a participant: the unpadded
// base32 of the SHA-256 of the lower-case participant id, then the scheme
// and the SML zone. The U-NAPTR record there names the SMP.
func NAPTRHost(participant, scheme, zone string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(participant)))
	h := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])
	return h + "." + scheme + "." + strings.TrimSuffix(zone, ".")
}

// CNAMEHost is the older (PEPPOL-style) SML name of a participant:
// "B-" and the hex MD5 of the lower-case participant id, then the scheme
// and the zone; the SMP is http://<that name>/.
func CNAMEHost(participant, scheme, zone string) string {
	sum := md5.Sum([]byte(strings.ToLower(participant))) //nolint:gosec // naming rule, see above
	return "B-" + hex.EncodeToString(sum[:]) + "." + scheme + "." + strings.TrimSuffix(zone, ".")
}

// MetadataPath is the SMP resource path of one participant's metadata for
// one document id: /<scheme>::<participant>/services/<scheme>::<document>,
// each identifier percent-encoded.
func MetadataPath(participant, documentID string) string {
	return "/" + url.PathEscape(ParticipantScheme+"::"+participant) + "/services/" + url.PathEscape(DocumentScheme+"::"+documentID)
}

// Participant returns the eHDSI participant id of country cc.
func Participant(cc string) string { return "urn:ehealth:" + strings.ToLower(cc) + ":ncp-idp" }
