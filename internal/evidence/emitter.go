package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Covered reports whether transactions of event type t get evidence:
// documents released (XCA retrieve of PS, eP, OrCD) and eDispensations
// accepted or discarded (XDR).
func Covered(t audit.EventType) bool {
	switch t {
	case audit.EventPSRetrieve, audit.EventEPRetrieve, audit.EventOrCDRetrieve,
		audit.EventDispensationSubmit, audit.EventDispensationDiscard:
		return true
	}
	return false
}

// Emitter is the gateway's evidence hook (gateway.Config.Evidence): for a
// covered transaction it signs and stores the NRR of the partner's request
// and the NRO of luxncp's response.
type Emitter struct {
	Seal  wssec.Signer
	Store Store
	// Now is the clock (nil: the system clock).
	Now func() time.Time
}

var _ gateway.EvidenceEmitter = (*Emitter)(nil)

// ID is the EvidenceIdentifier of the evidence of kind k of the transaction
// whose response has the wsa:MessageID respID: a UUID (RFC 9562 version 8,
// the first 122 bits of a SHA-256 over both). It is known before the
// evidence exists, so the transaction's audit record, written first, names
// it (audit.Event.Evidence); response MessageIDs are fresh random UUIDs, so
// the ids are unique.
func ID(k Kind, respID string) string {
	sum := sha256.Sum256([]byte("luxncp evidence\x00" + k.Short() + "\x00" + respID))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// IDs are the ids of the evidence Emit stores for ev (its NRR and NRO),
// nil when ev's transaction gets none: the gateway writes them into the
// audit record before Emit runs (gateway.EvidenceEmitter).
func (e *Emitter) IDs(ev audit.Event) []string {
	if !Covered(ev.Type) || ev.ResponseMessageID == "" {
		return nil
	}
	return []string{ID(Receipt, ev.ResponseMessageID), ID(Origin, ev.ResponseMessageID)}
}

// code is the event code of a transaction's outcome: Acceptance when the
// eDispensation was accepted (or discarded) or at least one document was
// released, Rejection otherwise.
func code(ev audit.Event) (Code, string) {
	if ev.Outcome == audit.OutcomeSuccess || (ev.Outcome == audit.OutcomeMinorFailure && len(ev.Documents) > 0 &&
		ev.Type != audit.EventDispensationSubmit && ev.Type != audit.EventDispensationDiscard) {
		return Acceptance, ""
	}
	return Rejection, ev.ErrorCode
}

// Emit stores the transaction's two evidences (detached from ctx, as audit
// records are). It is called after the audit record is written and before
// the response is sent; resp carries its final MessageID (the one
// ev.ResponseMessageID names), from which the evidence ids are derived
// (ID), the ids the audit record holds.
func (e *Emitter) Emit(ctx context.Context, req *gateway.Request, ev audit.Event, resp *soap.Response) error {
	if !Covered(ev.Type) || req == nil || req.Env == nil || resp == nil {
		return nil
	}
	if resp.MessageID == "" {
		return errors.New("evidence: the response has no MessageID to name its evidence by")
	}
	if e.Store == nil || e.Seal.Cert == nil {
		return errors.New("evidence: no store or seal")
	}
	reqDigest, err := MessageDigest(req.Env.Body, req.Env.Content)
	if err != nil {
		return err
	}
	respDigest, err := ResponseDigest(resp)
	if err != nil {
		return err
	}
	now := clock.Or(e.Now)()
	c, reason := code(ev)
	partner := Party{Names: names(ev.Consumer.Country, ev.Consumer.Host)}
	if req.HTTP != nil {
		if peer, ok := host.PeerFrom(req.HTTP.Context()); ok && len(peer.Certs) > 0 {
			partner.Cert = peer.Certs[0]
		}
	}
	self := Party{Names: names(ev.Provider.Country, ev.Provider.Host), Cert: e.Seal.Cert}
	nrr := Params{Kind: Receipt, Code: c, Reason: reason, ID: ID(Receipt, resp.MessageID), Sender: partner, Recipient: self,
		AuthTime: req.Now, EventTime: now, SubmissionTime: req.Now, Subject: string(ev.Type),
		MessageID: req.Env.MessageID, Digest: reqDigest}
	nro := Params{Kind: Origin, Code: c, Reason: reason, ID: ID(Origin, resp.MessageID), Sender: self, Recipient: partner,
		AuthTime: now, EventTime: now, SubmissionTime: now, Subject: string(ev.Type),
		MessageID: resp.MessageID, Digest: respDigest}
	ctx, cancel := audit.Detach(ctx, 0)
	defer cancel()
	// The two seals are independent RSA operations: made at once, the
	// transaction waits for one instead of two.
	ps := []Params{nrr, nro}
	items := make([]Item, len(ps))
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() {
			data, err := Sign(p, e.Seal)
			items[i], errs[i] = Item{Entry: Entry{ID: p.ID, Kind: p.Kind.Short(), Code: p.Code, Event: p.Subject, MessageID: p.MessageID,
				RequestMessageID: req.Env.MessageID, Partner: ev.Consumer.Country, Time: now}, Data: data}, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if bs, ok := e.Store.(BatchStore); ok {
		// One directory and one index fsync for both (FileStore).
		if err := bs.PutAll(ctx, items); err != nil {
			return fmt.Errorf("evidence nrr+nro: %w", err)
		}
		return nil
	}
	for _, it := range items {
		if err := e.Store.Put(ctx, it.Entry, it.Data); err != nil {
			return fmt.Errorf("evidence %s: %w", it.Entry.Kind, err)
		}
	}
	return nil
}

func names(ns ...string) []string {
	var out []string
	for _, n := range ns {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}
