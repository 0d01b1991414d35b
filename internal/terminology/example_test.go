package terminology_test

import (
	"fmt"

	"github.com/luxncp/luxncp/internal/terminology"
)

func Example() {
	cat, err := terminology.Load() // once, at start
	if err != nil {
		panic(err)
	}
	// A Luxembourg product code becomes its ATC active ingredient; the
	// national code is kept for <translation>.
	t, _ := cat.Transcode(terminology.VSActiveIngredient, terminology.Coding{Code: "1996073711", System: terminology.OIDLUProduct})
	fmt.Println(t.MVC.Code, t.MVC.System, t.MVC.Display, "| original", t.Original.Code, t.Original.System)

	// ICD-10 under HL7's OID comes out under eHDSI's.
	t, _ = cat.Transcode(terminology.VSIllnessDisorder, terminology.Coding{Code: "J45.0", System: "2.16.840.1.113883.6.3"})
	fmt.Println(t.MVC.Code, t.MVC.System)

	// Displays for a reader in Luxembourg who reads German.
	tr, _ := cat.Translate(terminology.Coding{Code: "10221000", System: terminology.OIDEDQM}, "de-LU")
	fmt.Println(tr.Text, tr.Lang, tr.Fallback)

	// Everything an ePrescription entry needs about a product.
	p, _ := cat.Product("2001096526")
	fmt.Println(p.ATC.Code, p.DoseForm.Display, p.Package.Display, len(p.Ingredients))

	// A miss explains itself.
	_, err = cat.Transcode(terminology.VSActiveIngredient, terminology.Coding{Code: "2015121545", System: terminology.OIDLUProduct})
	fmt.Println(err)
	// Output:
	// H03AA01 2.16.840.1.113883.6.73 levothyroxine sodium | original 1996073711 1.3.182.4.13
	// J45.0 1.3.6.1.4.1.12559.11.10.1.3.1.44.2
	// Filmtablette de true
	// J01CR02 Film-coated tablet Blister 2
	// terminology: no mapping to the value set: code "2015121545" (system 1.3.182.4.13), value set eHDSIActiveIngredient (1.3.6.1.4.1.12559.11.10.1.3.1.42.24)
}
