package node

import (
	"github.com/luxncp/luxncp/internal/evidence"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/wssec"
)

// evidenceEmitter is the gateway's non-repudiation evidence hook: the
// seal of opt (KMS on AWS) or of the PKI directory, the store of opt (S3
// Object Lock on AWS) or files in Cfg.EvidenceDir. Without a seal there is
// no evidence, loudly (docs/evidence.md).
func (n *Node) evidenceEmitter(opt Options) gateway.EvidenceEmitter {
	if opt.NoEvidence {
		return nil
	}
	seal := opt.EvidenceSeal
	if seal == nil {
		s, err := n.fileSeal()
		if err != nil {
			n.Log.Error("non-repudiation evidence is off: no seal to sign it", "error", err.Error())
			return nil
		}
		seal = s
	}
	store := opt.Evidence
	if store == nil {
		store = &evidence.FileStore{Dir: n.Cfg.EvidenceDir}
	}
	return &evidence.Emitter{Seal: *seal, Store: store, Now: opt.Now}
}

// fileSeal is the seal of the PKI directory (the local host's).
func (n *Node) fileSeal() (*wssec.Signer, error) {
	c, err := pki.LoadCredential(n.Cfg.PKIDir, n.Cfg.Country, pki.KindSeal)
	if err != nil {
		return nil, err
	}
	return &wssec.Signer{Key: c.Signer, Cert: c.Cert}, nil
}
