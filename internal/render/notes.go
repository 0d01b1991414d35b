package render

import "fmt"

// Note is a warning luxncp itself writes above a document (Options.Notes):
// a key and its arguments, so that the page says it in the reader's
// language (labels.Notes); Text gives the sentence.
type Note struct {
	Key  string
	Args []string
}

// The notes luxncp writes. The argument of NoteFutureDate and NoteOldDate
// is an HL7 date (YYYYMMDD), shown in the reader's date format.
const (
	NoteUnsigned   = "unsigned"    // the country code
	NoteFutureDate = "future-date" // the date
	NoteOldDate    = "old-date"    // the date
	NoteBadDate    = "bad-date"    // the value as received (cleaned)
	NoteNoTemplate = "no-template" // the template id
	NoteWrongClass = "wrong-class" // the class code asked for
	NoteNoTitle    = "no-title"
	NoteNoDate     = "no-date"
)

// Text is the note in lang (fr, de, en; English for another language).
func (n Note) Text(lang string) string {
	L, ok := uiLabels[lang]
	if !ok {
		L = uiLabels["en"]
	}
	f, ok := L.Notes[n.Key]
	if !ok {
		f = n.Key
	}
	args := make([]any, 0, len(n.Args))
	for i, a := range n.Args {
		if i == 0 && (n.Key == NoteFutureDate || n.Key == NoteOldDate) {
			a = formatDate(a, lang)
		}
		args = append(args, a)
	}
	return fmt.Sprintf(f, args...)
}

// Texts is notes in lang.
func Texts(notes []Note, lang string) []string {
	var out []string
	for _, n := range notes {
		out = append(out, n.Text(lang))
	}
	return out
}
