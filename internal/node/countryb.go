package node

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/luxncp/luxncp/internal/countryb"
	"github.com/luxncp/luxncp/internal/discovery"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/smp"
	"github.com/luxncp/luxncp/internal/wssec"
)

// directoryFile is where the country directory is read from: the
// configured file, else <state>/directory.json (written by `luxncp serve`
// for its simulated peers).
func (c Config) directoryFile() string {
	if c.DirectoryFile != "" {
		return c.DirectoryFile
	}
	return filepath.Join(c.StateDir, "directory.json")
}

// CountryBOptions inject Country B's edges (AWS: directory from S3, seal and
// TLS client key in KMS with their certificates from S3); zero fields use
// the local twins.
type CountryBOptions struct {
	Directory routing.Directory
	Seal      *wssec.Signer
	TLS       *pki.Credential
	// Submissions keeps sent eDispensations for discard (default: files
	// under the state directory).
	Submissions countryb.Submissions
}

// buildCountryB assembles the /api/v1 API for Luxembourg's professional
// software when a country directory is available. No directory: Country B
// is off (Country A is unaffected).
func (n *Node) buildCountryB(opt CountryBOptions) error {
	dir := opt.Directory
	if dir == nil && n.Cfg.SMLZone != "" {
		d, err := n.buildDiscovery()
		if err != nil {
			return err
		}
		n.Discovery, dir = d, d
	}
	if dir == nil {
		path := n.Cfg.directoryFile()
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		d, err := routing.LoadFile(path)
		if err != nil {
			return fmt.Errorf("country directory: %w", err)
		}
		dir = d
	}
	tlsCred := opt.TLS
	if tlsCred == nil {
		c, err := pki.LoadCredential(n.Cfg.PKIDir, n.Cfg.Country, pki.KindTLS)
		if err != nil {
			n.Log.Warn("Country B is off: no TLS client credential for outbound calls", "error", err.Error())
			return nil
		}
		tlsCred = c
	}
	seal := opt.Seal
	if seal == nil {
		s, err := n.fileSeal()
		if err != nil {
			n.Log.Warn("Country B is off: no seal to sign assertions", "error", err.Error())
			return nil
		}
		seal = s
	}
	if opt.Submissions == nil {
		opt.Submissions = countryb.FileSubmissions{Dir: filepath.Join(n.Cfg.StateDir, "countryb", "sent")}
	}
	callers, err := countryb.LoadCallers(n.Cfg.APICallers)
	if errors.Is(err, os.ErrNotExist) {
		n.Log.Warn("no calling system may use the Country B API: no callers file", "file", n.Cfg.APICallers)
	} else if err != nil {
		return err
	}
	rc, err := routing.New(routing.Config{Directory: dir, TLS: tlsCred.TLSCertificate(), Trust: n.Trust, Log: n.Log.With("component", "routing"), Now: n.Gateway.Now})
	if err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	api, err := countryb.New(countryb.Config{
		Router: n.tel.Router(rc), Identity: &ncpclient.Identity{Country: n.Cfg.Country, Seal: *seal, Now: n.Gateway.Now},
		HomeCommunityID: n.Cfg.HomeCommunityID, Trust: n.Trust, ClientTrust: n.Trust, ClientCountries: []string{n.Cfg.Country},
		Translator: n.Terms, Audit: n.Recorder, Log: n.Log.With("component", "countryb"), Now: n.Gateway.Now,
		Submissions: opt.Submissions, Tokens: n.Tokens, Callers: callers,
	})
	if err != nil {
		return fmt.Errorf("Country B API: %w", err)
	}
	n.CountryB = api
	return nil
}

// buildDiscovery assembles the SML/SMP directory: the cache is
// <state>/directory.json, the override LUXNCP_DIRECTORY when set.
func (n *Node) buildDiscovery() (*discovery.Directory, error) {
	v := smp.Verifier{Trust: n.Trust}
	if n.Cfg.SMPSigners != "" {
		certs, err := pki.ReadCertificates(n.Cfg.SMPSigners)
		if err != nil {
			return nil, fmt.Errorf("SMP signers: %w", err)
		}
		v.Signers = certs
	}
	cfg := discovery.Config{
		Countries: n.Cfg.DiscoveryCountries, Locator: smp.Locator{Zone: n.Cfg.SMLZone, Server: n.Cfg.SMLServer},
		Verifier: v, CacheFile: filepath.Join(n.Cfg.StateDir, "directory.json"), Audit: n.Recorder,
		MaxAge: n.Cfg.DiscoveryRefresh, Now: n.Gateway.Now, Log: n.Log.With("component", "discovery"),
	}
	if n.Cfg.DirectoryFile != "" && n.Cfg.DirectoryFile != cfg.CacheFile {
		o, err := routing.LoadFile(n.Cfg.DirectoryFile)
		if err != nil {
			return nil, fmt.Errorf("directory override: %w", err)
		}
		cfg.Override = o
	}
	return discovery.New(cfg)
}

// OwnCountry is Luxembourg as its SMP metadata describes it: the gateway's
// services at baseURL (https://host:port), the TLS certificate partners
// must see (pinned by them), the home community id and the International
// Search Mask (the 13-digit matricule, OID 1.3.182.4.4).
func (n *Node) OwnCountry(baseURL string) (routing.Country, error) {
	cred, err := pki.LoadCredential(n.Cfg.PKIDir, n.Cfg.Country, pki.KindTLS)
	if err != nil {
		return routing.Country{}, err
	}
	return OwnCountry(n.Cfg, baseURL, cred.Cert)
}

// OwnCountry is Node.OwnCountry for a configuration and certificate.
func OwnCountry(cfg Config, baseURL string, tlsCert *x509.Certificate) (routing.Country, error) {
	base := strings.TrimRight(baseURL, "/")
	pemCert := routing.CertPEM(tlsCert)
	c := routing.Country{Code: strings.ToUpper(cfg.Country), HomeCommunityID: cfg.HomeCommunityID, Name: "Luxembourg", SignsDocuments: true,
		SearchMask: []routing.IdentifierType{{Root: ehdsi.OIDMatricule, Name: "matricule (13 digits)"}}}
	for _, e := range []struct {
		t    routing.Transaction
		path string
	}{{routing.ITI55, ehdsi.PathXCPD}, {routing.ITI38, ehdsi.PathXCA}, {routing.ITI39, ehdsi.PathXCA}, {routing.ITI41, ehdsi.PathXDR}} {
		c.Endpoints = append(c.Endpoints, routing.Endpoint{Transaction: e.t, DocumentID: e.t.DocumentID(), URL: base + e.path, Certificate: pemCert})
	}
	st, err := routing.NewStatic(c)
	if err != nil {
		return routing.Country{}, err
	}
	return st.Lookup(context.Background(), c.Code)
}
