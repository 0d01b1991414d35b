package peer

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/testkit"
)

func TestFleet(t *testing.T) {
	f, err := NewFleet(Options{PKIDir: testkit.PKIDir(t)}, nil, "127.0.0.1", map[string]Mode{"NL": Mode5xx})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	dir, err := f.Directory()
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := dir.Countries(ctx)
	if len(cs) != len(CountryCodes) {
		t.Fatalf("%d countries", len(cs))
	}
	rc, err := routing.New(routing.Config{Directory: dir, TLS: testkit.Credential(t, "lu", pki.KindTLS).TLSCertificate(), Trust: testkit.Trust(t),
		AttemptTimeout: 2 * time.Second, Retries: -1, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	id := testkit.Identity(t, "lu", nil)
	hcp, err := id.HCP(ncpclient.DemoProfessional("LU", "physician"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, cc := range CountryCodes {
		prof, _ := Profile(cc)
		body := ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.3.182.2.12.10000734.6.1", ReceiverHCID: prof.HomeCommunityID,
			PatientID: prof.Patients[0].ID, PatientRoot: prof.PatientRoot})
		res, err := rc.Do(ctx, routing.Call{Country: cc, Transaction: routing.ITI55,
			Request: ncpclient.Request{Action: ehdsi.ActionXCPD, Body: body, Assertions: []*etree.Element{hcp}}})
		if cc == "NL" {
			if re, ok := routing.AsError(err); !ok || re.Kind != routing.ErrDown {
				t.Fatalf("NL (5xx): %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", cc, err)
		}
		got := res.Reply.Env.Body.FindElement(".//subject1/patient/id")
		if got == nil || got.SelectAttrValue("root", "") != prof.PatientRoot || got.SelectAttrValue("extension", "") != prof.Patients[0].ID {
			t.Fatalf("%s: patient id not answered", cc)
		}
	}
}
