package smp

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/routing"
)

// process is what the SMP says of a routed transaction besides its
// document id: the process id and transport profile (OpenNCP's SMP
// generator: urn:ihe:iti:2013:xcpd for identification; the XCA and XDR
// profiles follow the same pattern).
var process = map[routing.Transaction]struct{ id, transport string }{
	routing.ITI55: {"urn:epsosIdentityService::FindIdentityByTraits", "urn:ihe:iti:2013:xcpd"},
	routing.ITI38: {"urn:epsosPatientService::List", "urn:ihe:iti:2013:xca"},
	routing.ITI39: {"urn:epsosPatientService::Retrieve", "urn:ihe:iti:2013:xca"},
	routing.ITI41: {"urn:epsosDispensationService::Initialize", "urn:ihe:iti:2013:xdr"},
}

// DocumentIDs lists what a participant publishes: the routed transactions
// then the ISM.
func DocumentIDs() []string {
	out := make([]string, 0, len(routing.Transactions)+1)
	for _, t := range routing.Transactions {
		out = append(out, t.DocumentID())
	}
	return append(out, ISMDocumentID)
}

// Extension namespaces: the ISM (epSOS search mask shape, no namespace)
// and luxncp's participant information.
const (
	// NSInfo carries what eHDSI distributes outside SMP (the home
	// community id, the display name, whether the country seals its
	// documents); partners that do not publish it keep it in the override
	// file.
	NSInfo = "urn:luxncp:smp:1"
)

// Publication is the metadata a country publishes: one ServiceMetadata per
// transaction it serves and its International Search Mask, each endpoint
// valid from activation to expiration.
func Publication(c routing.Country, activation, expiration time.Time, contact string) []ServiceMetadata {
	info := etree.NewElement("lux:ParticipantInfo")
	info.CreateAttr("xmlns:lux", NSInfo)
	info.CreateAttr("homeCommunityId", c.HomeCommunityID)
	if c.Name != "" {
		info.CreateAttr("name", c.Name)
	}
	if c.SignsDocuments {
		info.CreateAttr("signsDocuments", "true")
	}
	participant := c.Participant
	if participant == "" {
		participant = Participant(c.Code)
	}
	var out []ServiceMetadata
	for _, t := range routing.Transactions {
		e, ok := c.Endpoint(t)
		if !ok {
			continue
		}
		p := process[t]
		out = append(out, ServiceMetadata{
			Participant: participant, DocumentID: t.DocumentID(), ProcessID: p.id, Info: info,
			Endpoints: []Endpoint{{TransportProfile: p.transport, URL: e.URL, Activation: activation, Expiration: expiration,
				Certificate: e.Cert(), Description: t.Name() + " of the " + strings.ToUpper(c.Code) + " NCP", TechnicalContact: contact}},
		})
	}
	out = append(out, ServiceMetadata{
		Participant: participant, DocumentID: ISMDocumentID, ProcessID: "urn:ehealth:ncp:" + strings.ToLower(c.Code) + ":ism", Info: info,
		Endpoints: []Endpoint{{TransportProfile: TransportNone, Activation: activation, Expiration: expiration,
			Description: "International Search Mask of " + strings.ToUpper(c.Code), TechnicalContact: contact, Extension: ISM(c.Code, c.SearchMask)}},
	})
	return out
}

// ISM writes an International Search Mask in the epSOS shape OpenNCP's
// portal reads: packageRoot/country[@code]/search/id[@domain,@label], one
// id per accepted national identifier (its assigning authority OID).
// Only the identifier part is modelled: the ehdsi-ism-2020.xsd's other
// fields (demographics, text fields) are not in reach of this project.
func ISM(cc string, ids []routing.IdentifierType) *etree.Element {
	root := etree.NewElement("packageRoot")
	country := root.CreateElement("country")
	country.CreateAttr("code", strings.ToUpper(cc))
	search := country.CreateElement("search")
	for _, id := range ids {
		e := search.CreateElement("id")
		e.CreateAttr("domain", id.Root)
		e.CreateAttr("label", id.Name)
	}
	return root
}

// readISM returns the identifiers of a search mask.
func readISM(el *etree.Element) []routing.IdentifierType {
	var out []routing.IdentifierType
	for _, id := range el.FindElements(".//id") {
		if d := id.SelectAttrValue("domain", ""); d != "" {
			out = append(out, routing.IdentifierType{Root: d, Name: id.SelectAttrValue("label", "")})
		}
	}
	return out
}

// ErrNoEndpoint is returned when no endpoint of a metadata is active.
var ErrNoEndpoint = errors.New("no active endpoint")

// pick returns the endpoint to use at now: among the active endpoints of
// the transport profile (any when profile is empty), the one activated
// last (a certificate rollover publishes the new endpoint beside the old
// one).
func pick(m *ServiceMetadata, profile string, now time.Time) (Endpoint, error) {
	var act []Endpoint
	for _, e := range m.Endpoints {
		if (profile == "" || e.TransportProfile == profile) && e.Active(now) {
			act = append(act, e)
		}
	}
	if len(act) == 0 {
		return Endpoint{}, fmt.Errorf("%w among %d for %s", ErrNoEndpoint, len(m.Endpoints), m.DocumentID)
	}
	sort.SliceStable(act, func(i, j int) bool { return act[i].Activation.After(act[j].Activation) })
	return act[0], nil
}

// Country assembles a country's directory entry from its verified
// metadata at now: one endpoint per transaction (active, pinned
// certificate, validity carried along), the search mask from the ISM and
// the participant information. Metadata without an active endpoint leaves
// its transaction out.
func Country(cc string, metas []*ServiceMetadata, now time.Time) (routing.Country, error) {
	c := routing.Country{Code: strings.ToUpper(cc), Participant: Participant(cc)}
	for _, m := range metas {
		if c.HomeCommunityID == "" && m.Info != nil && m.Info.NamespaceURI() == NSInfo {
			c.HomeCommunityID = m.Info.SelectAttrValue("homeCommunityId", "")
			c.Name = m.Info.SelectAttrValue("name", "")
			c.SignsDocuments = m.Info.SelectAttrValue("signsDocuments", "") == "true"
		}
		if m.DocumentID == ISMDocumentID {
			if e, err := pick(m, "", now); err == nil && e.Extension != nil {
				c.SearchMask = readISM(e.Extension)
			}
			continue
		}
		for _, t := range routing.Transactions {
			if !strings.EqualFold(t.DocumentID(), m.DocumentID) {
				continue
			}
			e, err := pick(m, process[t].transport, now)
			if err != nil {
				continue
			}
			if e.Certificate == nil {
				return routing.Country{}, fmt.Errorf("%w: %s %s: endpoint without certificate", ErrBadMetadata, c.Code, t)
			}
			c.Endpoints = append(c.Endpoints, routing.Endpoint{Transaction: t, DocumentID: t.DocumentID(), URL: e.URL,
				Certificate: routing.CertPEM(e.Certificate), Activation: e.Activation, Expiration: e.Expiration})
		}
	}
	if len(c.Endpoints) == 0 {
		return routing.Country{}, fmt.Errorf("%w: %s publishes no active endpoint", ErrNoEndpoint, c.Code)
	}
	st, err := routing.NewStatic(c) // parses the pinned certificates
	if err != nil {
		return routing.Country{}, fmt.Errorf("%w: %v", ErrBadMetadata, err)
	}
	return st.Lookup(context.Background(), c.Code)
}
