package pdf_test

import (
	"bytes"
	"fmt"

	"github.com/luxncp/luxncp/internal/pdf"
)

func ExampleNew() {
	d := pdf.New("Ordonnance", "luxncp")
	d.Heading(1, "Ordonnance électronique")
	d.KeyValues([][2]string{{"Patient", "Claire Dubois"}, {"Né(e) le", "1983-03-05"}})
	d.Table([]string{"Produit", "Posologie"}, [][]string{{"Augmentin 500 mg/125 mg", "1 comprimé 3 fois par jour"}}, []float64{2, 3})
	b := d.Bytes()
	fmt.Println(d.Pages(), bytes.HasPrefix(b, []byte("%PDF-1.7")))
	// Output: 1 true
}
