package conformance

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Credentials are the seals a run signs with.
type Credentials struct {
	// Identity is the Country B node under whose name the suite runs.
	Identity *ncpclient.Identity
	// Other is the seal of another country of the same PKI (for the
	// "TLS country differs from signer country" cases); zero: those cases fail.
	Other wssec.Signer

	mu        sync.Mutex
	untrusted *wssec.Signer
	errU      error
}

// Untrusted returns a seal of the same country issued by a throwaway CA no
// target trusts, generated once (in a temporary directory removed at once).
func (cr *Credentials) Untrusted() (wssec.Signer, error) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.untrusted != nil || cr.errU != nil {
		if cr.errU != nil {
			return wssec.Signer{}, cr.errU
		}
		return *cr.untrusted, nil
	}
	cc := strings.ToLower(cr.Identity.Country)
	dir, err := os.MkdirTemp("", "luxncp-untrusted")
	if err != nil {
		cr.errU = err
		return wssec.Signer{}, err
	}
	defer os.RemoveAll(dir)
	if _, err := pki.EnsureDev(dir, pki.DevOptions{Countries: []string{cc}}); err != nil {
		cr.errU = fmt.Errorf("throwaway CA: %w", err)
		return wssec.Signer{}, cr.errU
	}
	c, err := pki.LoadCredential(dir, cc, pki.KindSeal)
	if err != nil {
		cr.errU = err
		return wssec.Signer{}, err
	}
	cr.untrusted = &wssec.Signer{Key: c.Signer, Cert: c.Cert}
	return *cr.untrusted, nil
}

func (cr *Credentials) now() time.Time {
	return clock.Or(cr.Identity.Now)()
}

// defaultRole is the role a case's professional has unless it says.
func defaultRole(c *Case) string {
	if c.Assertion.Role != "" {
		return c.Assertion.Role
	}
	if c.Transaction == TxXDRSubmit || c.Transaction == TxXDRDiscard || c.Request.ClassCode == ehdsi.ClassEP {
		return "pharmacist"
	}
	return "physician"
}

func (cr *Credentials) signerFor(a Assertion, which string) (wssec.Signer, error) {
	if a.SignerOf != "" && a.SignerOf != which {
		return cr.Identity.Seal, nil
	}
	switch a.Signer {
	case "untrusted":
		return cr.Untrusted()
	case "other-country":
		if cr.Other.Key == nil {
			return wssec.Signer{}, errors.New("no seal of another country available (dev PKI with two countries, or --other-seal)")
		}
		return cr.Other, nil
	}
	return cr.Identity.Seal, nil
}

// assertions builds the WS-Security assertions of a case. patient is the
// request's patient (TRC subject unless the case names another); trcFor is
// that other patient when set. needTRC says whether the transaction carries
// a TRC assertion.
func (cr *Credentials) assertions(c *Case, patient, trcFor *wssec.PatientID, needTRC bool) ([]*etree.Element, error) {
	a := c.Assertion
	prof := ncpclient.DemoProfessional(cr.Identity.Country, defaultRole(c))
	if a.Permissions != nil {
		prof.Permissions = a.Permissions
	}
	if a.Purpose != "" {
		prof.Purpose = a.Purpose
	}
	issued, nb, valid, err := a.HCP.durations()
	if err != nil {
		return nil, err
	}
	params, err := cr.Identity.HCPParams(prof, valid)
	if err != nil {
		return nil, err
	}
	params.IssueInstant = cr.now().Add(issued)
	params.NotBeforeSkew = -nb
	if nb == 0 {
		params.NotBeforeSkew = time.Nanosecond // zero means the 1-minute default
	}
	hs, err := cr.signerFor(a, "hcp")
	if err != nil {
		return nil, err
	}
	hcp, err := wssec.IssueHCP(params, hs)
	if err != nil {
		return nil, err
	}
	if a.Audience != "" {
		aud := hcp.FindElement("./Conditions/AudienceRestriction/Audience")
		if aud == nil {
			return nil, errors.New("issued HCP assertion has no Audience to change")
		}
		aud.SetText(a.Audience)
		if err := resign(hcp, hs); err != nil {
			return nil, fmt.Errorf("re-sign HCP assertion: %w", err)
		}
	}
	var out []*etree.Element
	if !a.OmitHCP {
		out = append(out, hcp)
	}
	if a.DuplicateHCP {
		p2 := params
		p2.ID = ""
		h2, err := wssec.IssueHCP(p2, hs)
		if err != nil {
			return nil, err
		}
		out = append(out, h2)
	}
	var trc *etree.Element
	if needTRC && !a.OmitTRC && patient != nil {
		subject := *patient
		if trcFor != nil {
			subject = *trcFor
		}
		ref := hcp
		if a.TRCOtherHCP {
			p3 := params
			p3.ID = ""
			if ref, err = wssec.IssueHCP(p3, cr.Identity.Seal); err != nil {
				return nil, err
			}
		}
		ti, tnb, tvalid, err := a.TRC.durations()
		if err != nil {
			return nil, err
		}
		ts, err := cr.signerFor(a, "trc")
		if err != nil {
			return nil, err
		}
		tp := wssec.TRCParams{
			Issuer: "urn:idp:" + cr.Identity.Country + ":countryB", HCP: ref, Patient: subject, Purpose: prof.Purpose,
			IssueInstant: cr.now().Add(ti), Valid: tvalid, NotBeforeSkew: -tnb,
		}
		if tnb == 0 {
			tp.NotBeforeSkew = time.Nanosecond
		}
		if trc, err = wssec.IssueTRC(tp, ts); err != nil {
			return nil, err
		}
		out = append(out, trc)
	}
	switch a.Tamper {
	case "hcp-after-signing":
		// Change the professional's name after signing.
		alterAttribute(hcp, wssec.AttrSubjectID, "Altered After Signing")
	case "trc-after-signing":
		if trc == nil {
			return nil, errors.New("tamper trc-after-signing needs a TRC assertion")
		}
		alterAttribute(trc, wssec.AttrSubjectID, "0000000000000^^^&"+patient.Root+"&ISO")
	}
	if a.Signer == "unsigned" {
		for _, el := range out {
			if a.SignerOf == "" || (a.SignerOf == "hcp" && el == hcp) || (a.SignerOf == "trc" && el == trc) {
				removeSignature(el)
			}
		}
	}
	return out, nil
}

func alterAttribute(a *etree.Element, name, value string) {
	for _, at := range a.FindElements("./AttributeStatement/Attribute") {
		if at.SelectAttrValue("Name", "") == name {
			if v := at.SelectElement("AttributeValue"); v != nil {
				v.SetText(value)
			}
		}
	}
}

func removeSignature(a *etree.Element) {
	for _, c := range a.ChildElements() {
		if c.Tag == "Signature" {
			a.RemoveChild(c)
		}
	}
}

// resign replaces the enveloped signature of an assertion after a
// deliberate change, so that the change is validly signed (the wrong
// audience cases): RSA-SHA256, exclusive c14n, right after Issuer.
func resign(a *etree.Element, s wssec.Signer) error {
	removeSignature(a)
	ctx, err := dsig.NewSigningContext(s.Key, [][]byte{s.Cert.Raw})
	if err != nil {
		return err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return err
	}
	sig, err := ctx.ConstructSignature(a.Copy(), true)
	if err != nil {
		return err
	}
	a.InsertChildAt(1, sig)
	return nil
}
