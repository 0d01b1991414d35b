package matricule_test

import (
	"errors"
	"fmt"

	"github.com/luxncp/luxncp/internal/matricule"
)

func ExampleParse() {
	id, err := matricule.Parse("1990 0101 123 85")
	fmt.Println(id, err)
	_, err = matricule.Parse("1990010112384")
	fmt.Println(errors.Is(err, matricule.ErrCheckDigit))
	_, err = matricule.Parse("12345")
	fmt.Println(errors.Is(err, matricule.ErrMalformed))
	// Output:
	// 1990010112385 <nil>
	// true
	// true
}

func ExampleGenerate() {
	fmt.Println(matricule.Generate("1985-03-12", 1))
	// Output: 1985031200182
}
