package cda

import (
	"errors"
	"fmt"

	"github.com/beevik/etree"
	"github.com/luxncp/luxncp/internal/terminology"
)

// Terminology is what the builders need from internal/terminology;
// *terminology.Catalogue satisfies it.
type Terminology interface {
	Transcode(valueSet string, code terminology.Coding) (terminology.Transcoded, error)
}

// Spec names one coded element of a document: the element (for errors),
// the value set it binds and its eHDSI usage in this document type.
type Spec struct {
	Element  string
	ValueSet string
	Usage    terminology.Usage
}

// Coded is the outcome of transcoding one element, ready to be written by
// AppendCoded: either an MVC code (Null == "") or a nullFlavor with the
// national code kept as translation and the text as originalText.
type Coded struct {
	terminology.Transcoded
	// Null is the nullFlavor written when the code could not be transcoded
	// (usage RNFA or O); "" when MVC holds the code.
	Null string
	// Text is written as originalText when set.
	Text string
}

// TranscodeError reports a coded element that could not be transcoded.
// For a Required element it makes the whole document fail (eHDSI
// ERROR_*_MISSING_EXPECTED_MAPPING, ERROR_REQUIRED_CODED_ELEMENT_NOT_TRANSCODED).
type TranscodeError struct {
	Element  string
	ValueSet string
	Usage    terminology.Usage
	Code     terminology.Coding
	Err      error // the terminology miss, when there was one
}

func (e *TranscodeError) Error() string {
	msg := fmt.Sprintf("coded element %s (usage %s): code %q of system %s not transcodable to value set %s", e.Element, e.Usage, e.Code.Code, e.Code.System, e.ValueSet)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *TranscodeError) Unwrap() error { return e.Err }

// errNoCode marks an input without any code.
var errNoCode = errors.New("no code given")

// Transcode maps in through term for the element s. A miss is an error
// (*TranscodeError) only when s.Usage is Required; otherwise it yields a
// Coded with Null "OTH" ("UNK" when there was neither code nor text) that keeps
// in as the translation. text becomes originalText either way.
func Transcode(term Terminology, s Spec, in terminology.Coding, text string) (Coded, error) {
	var err error
	if in.Code == "" {
		err = errNoCode
	} else if term == nil {
		err = errors.New("no terminology")
	} else {
		var t terminology.Transcoded
		t, err = term.Transcode(s.ValueSet, in)
		if err == nil && t.MVC.Code != "" {
			return Coded{Transcoded: t, Text: text}, nil
		}
		if err == nil {
			err = errNoCode
		}
	}
	if s.Usage == terminology.UsageRequired {
		return Coded{}, &TranscodeError{Element: s.Element, ValueSet: s.ValueSet, Usage: s.Usage, Code: in, Err: err}
	}
	c := Coded{Null: "OTH", Text: text}
	if in.Code == "" {
		// Without a code there is nothing "other" to point at, but the
		// eHDSI rule dtr1-1-ANY allows originalText only with OTH (or NA,
		// UNC): keep OTH when there is text, UNK when there is nothing.
		if text == "" && in.Display == "" {
			c.Null = "UNK"
		}
	} else {
		c.Original = in
	}
	if c.Text == "" {
		c.Text = in.Display
	}
	return c, nil
}

// MVCOnly wraps a code that already is an MVC code (no translation).
func MVCOnly(c terminology.Coding) Coded { return Coded{Transcoded: terminology.Transcoded{MVC: c}} }

// AppendCoded writes c as a new child tag of parent (a CD/CE element: code,
// codeSystem, codeSystemName, codeSystemVersion, displayName, then
// originalText and translation in the HL7 namespace) and returns it.
func AppendCoded(parent *etree.Element, tag string, c Coded) *etree.Element {
	el := parent.CreateElement(tag)
	SetCoded(el, c)
	return el
}

// SetCoded writes c onto an existing element.
func SetCoded(el *etree.Element, c Coded) {
	if c.Null != "" {
		el.CreateAttr("nullFlavor", c.Null)
	} else {
		setCodeAttrs(el, c.MVC)
	}
	if c.Text != "" {
		el.CreateElement("originalText").SetText(c.Text)
	}
	if c.Original.Code != "" && (c.Original.Code != c.MVC.Code || c.Original.System != c.MVC.System) {
		setCodeAttrs(el.CreateElement("translation"), c.Original)
	}
}

func setCodeAttrs(el *etree.Element, c terminology.Coding) {
	el.CreateAttr("code", c.Code)
	el.CreateAttr("codeSystem", c.System)
	if c.SystemName != "" {
		el.CreateAttr("codeSystemName", c.SystemName)
	}
	if c.SystemVersion != "" {
		el.CreateAttr("codeSystemVersion", c.SystemVersion)
	}
	if c.Display != "" {
		el.CreateAttr("displayName", c.Display)
	}
}

// AppendNull writes <tag nullFlavor="nf"/> under parent.
func AppendNull(parent *etree.Element, tag, nf string) *etree.Element {
	el := parent.CreateElement(tag)
	el.CreateAttr("nullFlavor", nf)
	return el
}
