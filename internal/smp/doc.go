// Package smp is eHDSI dynamic discovery: the Service Metadata Locator
// (SML, DNS) naming rule, the Service Metadata Publisher's signed metadata
// (OASIS BDXR SMP 1.0, namespace http://docs.oasis-open.org/bdxr/ns/SMP/2016/05)
// for the eHDSI participant urn:ehealth:<cc>:ncp-idp (scheme
// ehealth-participantid-qns) and its transactions (scheme ehealth-resid-qns),
// the International Search Mask carried in the ISM endpoint's Extension, and
// the local twins luxncp serve runs: an SML on loopback DNS
// (github.com/miekg/dns) and an SMP over HTTP.
//
// Sources checked (public repositories, read through the search index):
//   - OpenNCP's DynamicDiscoveryService (eu.europa.ec.sante.ehdsi.openncp.pt.common):
//     participant "urn:ehealth:%2s:ncp-idp", schemes ehealth-participantid-qns
//     and ehealth-resid-qns, one endpoint per process, endpoint URL and
//     endpoint certificate taken from the SignedServiceMetadata, the
//     certificate stored and pinned, an SMP::Query audit (EHDSI-193).
//   - OpenNCP's RegisteredService and BdxSmpValidator: the ISM document id
//     urn:ehealth:ISM::InternationalSearchMask##ehealth-107 and the
//     2016/05 SMP namespace.
//   - The eDelivery dynamic-discovery client (DefaultBDXRLocator, HashUtil,
//     DefaultDNSLookup) that OpenNCP uses, and the eDelivery BDMSL
//     (HashUtilTest): NAPTR name = base32(SHA-256(lower-case participant id)),
//     no padding, "." scheme "." SML zone, a U-NAPTR record with service
//     "Meta:SMP" whose regexp "!^.*$!<SMP URL>!" gives the SMP; CNAME
//     fallback name "B-" + hex(MD5(participant id)) "." scheme "." zone.
//     Test vectors: urn:poland:ncpb gives
//     DALXFO3CDYE5ZSLF5WAVCYQ3XGERI6ONUBJU5WAH3T77THFWCGEQ and
//     b-adb4c6d3821d142c684b13ed269fad65.
//   - The SMP REST resource paths of the same client (resolveServiceMetadata):
//     <SMP>/<scheme>::<participant>/services/<scheme>::<document id>, each
//     part percent-encoded.
package smp
