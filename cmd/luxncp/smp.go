package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/smp"
	"github.com/luxncp/luxncp/internal/soap"
)

const smpUsage = `Usage:
  luxncp smp generate [--url https://127.0.0.1:8443] [--dir var/smp-publish] [--days 365]
  luxncp smp sign     [--dir var/smp-publish]
  luxncp smp publish  --smp URL [--dir var/smp-publish]
  luxncp smp check    --smp URL [--url https://127.0.0.1:8443] [--days 30]
generate writes Luxembourg's ServiceMetadata (ITI-55, ITI-38, ITI-39, ITI-41
and the International Search Mask) for the gateway at --url, with its TLS
certificate; sign wraps each in a SignedServiceMetadata signed with
Luxembourg's seal; publish PUTs them to the SMP (the resource path of the
OASIS SMP, /<scheme>::<participant>/services/<scheme>::<document>); check
fetches what the SMP serves, verifies it and compares it with the running
configuration (URLs, certificates, expiry within --days). make run prints
its local SMP's URL.
`

func runSMP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelpFlag(args[0]) {
		fmt.Fprint(stdout, smpUsage)
		return nil
	}
	sub := args[0]
	cfg, err := node.FromEnv(nil)
	if err != nil {
		return err
	}
	fs := newFlagSet("smp "+sub, smpUsage, stderr)
	dir := fs.String("dir", filepath.Join(cfg.StateDir, "smp-publish"), "directory of the generated and signed metadata")
	gw := fs.String("url", "https://"+envOr("LUXNCP_ADDR", "127.0.0.1:8443"), "the gateway's public base URL (env LUXNCP_ADDR)")
	smpURL := fs.String("smp", os.Getenv("LUXNCP_SMP_URL"), "the SMP's base URL (env LUXNCP_SMP_URL)")
	operator := fs.String("operator", "", "publish: who publishes (recorded as EHDSI-194 in the operator log; default the login name)")
	days := fs.Int("days", 0, "generate: validity in days (default 365); check: warn below this many days left (default 30)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	switch sub {
	case "generate":
		if *days == 0 {
			*days = 365
		}
		return smpGenerate(cfg, *gw, *dir, *days, stdout)
	case "sign":
		return smpSign(cfg, *dir, stdout)
	case "publish":
		if *smpURL == "" {
			return badUsage("--smp: the SMP's URL is required")
		}
		if *operator == "" {
			*operator = loginName()
		}
		return smpPublish(ctx, cfg, *dir, *smpURL, *operator, stdout)
	case "check":
		if *smpURL == "" {
			return badUsage("--smp: the SMP's URL is required")
		}
		if *days == 0 {
			*days = 30
		}
		return smpCheck(ctx, cfg, *gw, *smpURL, *days, stdout)
	}
	return badUsage("unknown smp command %q (generate, sign, publish, check)", sub)
}

// fileName is the file of one document id: ITI-55.xml … ISM.xml.
func fileName(documentID string) string {
	if documentID == smp.ISMDocumentID {
		return "ISM.xml"
	}
	_, tx, _ := strings.Cut(documentID, "##")
	return tx + ".xml"
}

func ownCountry(cfg node.Config, gw string) (routing.Country, error) {
	cred, err := pki.LoadCredential(cfg.PKIDir, cfg.Country, pki.KindTLS)
	if err != nil {
		return routing.Country{}, err
	}
	return node.OwnCountry(cfg, gw, cred.Cert)
}

func smpGenerate(cfg node.Config, gw, dir string, days int, stdout io.Writer) error {
	own, err := ownCountry(cfg, gw)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	now := clock.Now().UTC().Truncate(time.Second)
	for _, m := range smp.Publication(own, now, now.AddDate(0, 0, days), "") {
		b, err := xmlBytes(m)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, fileName(m.DocumentID))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, path)
	}
	return nil
}

func xmlBytes(m smp.ServiceMetadata) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	doc := etree.NewDocument()
	doc.SetRoot(m.Element())
	doc.Indent(2)
	if _, err := doc.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func smpSign(cfg node.Config, dir string, stdout io.Writer) error {
	seal, err := pki.LoadCredential(cfg.PKIDir, cfg.Country, pki.KindSeal)
	if err != nil {
		return err
	}
	for _, id := range smp.DocumentIDs() {
		path := filepath.Join(dir, fileName(id))
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%w (run luxncp smp generate first)", err)
		}
		doc, err := soap.ParseDocument(b, soap.Limits{})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		signed, err := smp.SignElement(doc.Root(), seal.Signer, seal.Cert)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out := strings.TrimSuffix(path, ".xml") + ".signed.xml"
		if err := os.WriteFile(out, signed, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, out)
	}
	return nil
}

// smpPublish uploads the signed metadata, recording each upload and its
// outcome as an eHDSI SMP push (EHDSI-194) in the operator log of the local
// audit chain (the gateway may hold the main chain's lock).
func smpPublish(ctx context.Context, cfg node.Config, dir, smpURL, operator string, stdout io.Writer) error {
	participant := smp.Participant(cfg.Country)
	hc := &http.Client{Timeout: 10 * time.Second}
	for _, id := range smp.DocumentIDs() {
		path := filepath.Join(dir, strings.TrimSuffix(fileName(id), ".xml")+".signed.xml")
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%w (run luxncp smp sign first)", err)
		}
		u := strings.TrimRight(smpURL, "/") + smp.MetadataPath(participant, id)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		res, err := hc.Do(req)
		if err == nil {
			msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
			res.Body.Close()
			if res.StatusCode/100 != 2 {
				err = fmt.Errorf("publish %s: %s: %s", id, res.Status, strings.TrimSpace(string(msg)))
			}
		}
		if aerr := recordPush(ctx, cfg, u, operator, err); aerr != nil {
			return fmt.Errorf("publish %s: %w (not recorded: %v)", id, err, aerr)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "published %s (audited: EHDSI-194 by %s)\n", u, operator)
	}
	return nil
}

// smpCheck compares what the SMP serves for Luxembourg with the running
// configuration; any difference fails (exit 1).
func smpCheck(ctx context.Context, cfg node.Config, gw, smpURL string, days int, stdout io.Writer) error {
	own, err := ownCountry(cfg, gw)
	if err != nil {
		return err
	}
	trust, err := pki.LoadTrustStore(cfg.TrustBundle)
	if err != nil {
		return err
	}
	v := smp.Verifier{Trust: trust}
	now := clock.Now()
	participant := smp.Participant(cfg.Country)
	hc := &http.Client{Timeout: 10 * time.Second}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DOCUMENT\tRESULT\tDETAIL")
	failed := 0
	report := func(id, res, detail string) {
		if res != "ok" {
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.TrimSuffix(fileName(id), ".xml"), res, detail)
	}
	for _, id := range smp.DocumentIDs() {
		b, _, err := smp.Fetch(ctx, hc, smpURL, participant, id, 0)
		if err != nil {
			report(id, "missing", err.Error())
			continue
		}
		m, _, err := v.Verify(b, participant, id, now)
		if err != nil {
			report(id, "refused", err.Error())
			continue
		}
		got, err := smp.Country(cfg.Country, []*smp.ServiceMetadata{m}, now)
		if id == smp.ISMDocumentID {
			if len(m.Endpoints) == 0 || m.Endpoints[0].Extension == nil {
				report(id, "differs", "no search mask")
			} else {
				report(id, "ok", "search mask published")
			}
			continue
		}
		if err != nil || len(got.Endpoints) != 1 {
			report(id, "inactive", fmt.Sprint("no endpoint valid now: ", err))
			continue
		}
		e := got.Endpoints[0]
		want, _ := own.Endpoint(e.Transaction)
		switch {
		case e.URL != want.URL:
			report(id, "differs", "URL "+e.URL+", running "+want.URL)
		case !e.Cert().Equal(want.Cert()):
			report(id, "differs", "the certificate is not the gateway's TLS certificate")
		case !e.Expiration.IsZero() && e.Expiration.Before(now.AddDate(0, 0, days)):
			report(id, "expiring", "expires "+e.Expiration.UTC().Format(time.RFC3339))
		case want.Cert().NotAfter.Before(now.AddDate(0, 0, days)):
			report(id, "expiring", "TLS certificate expires "+want.Cert().NotAfter.UTC().Format(time.RFC3339))
		default:
			report(id, "ok", e.URL)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d published document(s) do not match the running configuration", failed)
	}
	return nil
}

// recordPush writes one EHDSI-194 record: Luxembourg pushing its metadata to
// the SMP at target, with the outcome.
func recordPush(ctx context.Context, cfg node.Config, target, operator string, failure error) error {
	host := target
	if u, err := url.Parse(target); err == nil {
		host = u.Hostname()
	}
	ev := audit.Event{Type: audit.EventSMPPush, Side: audit.SideB, Time: clock.Now(), Target: target,
		Consumer: audit.NCP{Country: cfg.Country, Host: "luxncp"}, Provider: audit.NCP{Host: host},
		HCP: audit.HCP{Name: operator, ID: operator, RoleDisplay: "operator"}}
	if failure != nil {
		ev.SetOutcome(ehdsi.Receiver(ehdsi.ErrGeneric, failure.Error(), nil))
	} else {
		ev.SetOutcome(nil)
	}
	_, err := audit.RecordOperator(ctx, cfg.AuditDir, ev)
	return err
}
