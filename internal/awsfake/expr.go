package awsfake

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strings"
	"unicode"
)

// The DynamoDB expression subset the fake understands:
//
//	condition := term { AND term }
//	term      := attribute_exists(path) | attribute_not_exists(path)
//	           | begins_with(path, operand) | operand cmp operand
//	           | operand BETWEEN operand AND operand
//	cmp       := = | <> | < | <= | > | >=
//	operand   := :value | path
//	path      := #name | name            (top-level attributes only)
//
//	update    := clause { clause }
//	clause    := SET path = value { , path = value }
//	           | REMOVE path { , path }
//	           | ADD path :number { , path :number }
//	value     := operand | operand (+|-) operand | if_not_exists(path, operand)
//
// OR, NOT, parentheses for grouping, nested paths and list indexes are
// answered with a ValidationException naming the fake's limit.

type attrValue = json.RawMessage

type item = map[string]attrValue

type exprEnv struct {
	names  map[string]string
	values map[string]attrValue
}

type lexer struct {
	toks []string
	pos  int
}

func lex(s string) (*lexer, *apiError) {
	var toks []string
	r := []rune(s)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')' || c == ',' || c == '=' || c == '+' || c == '-':
			toks = append(toks, string(c))
			i++
		case c == '<' || c == '>':
			if i+1 < len(r) && (r[i+1] == '=' || (c == '<' && r[i+1] == '>')) {
				toks = append(toks, string(r[i:i+2]))
				i += 2
			} else {
				toks = append(toks, string(c))
				i++
			}
		case c == '#' || c == ':' || c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c):
			j := i + 1
			for j < len(r) && (r[j] == '_' || unicode.IsLetter(r[j]) || unicode.IsDigit(r[j])) {
				j++
			}
			toks = append(toks, string(r[i:j]))
			i = j
		default:
			return nil, errValidation("the fake's expression subset does not include %q", string(c))
		}
	}
	return &lexer{toks: toks}, nil
}

func (l *lexer) peek() string {
	if l.pos < len(l.toks) {
		return l.toks[l.pos]
	}
	return ""
}

func (l *lexer) next() string {
	t := l.peek()
	l.pos++
	return t
}

func (l *lexer) expect(t string) *apiError {
	if got := l.next(); !strings.EqualFold(got, t) {
		return errValidation("expected %q, found %q", t, got)
	}
	return nil
}

func (e *exprEnv) path(tok string) (string, *apiError) {
	switch {
	case strings.HasPrefix(tok, "#"):
		n, ok := e.names[tok]
		if !ok {
			return "", errValidation("ExpressionAttributeNames has no %s", tok)
		}
		return n, nil
	case tok == "" || strings.HasPrefix(tok, ":") || strings.ContainsAny(tok, "()=<>,"):
		return "", errValidation("expected an attribute path, found %q", tok)
	}
	return tok, nil
}

// operand returns the value of a :value or a path in it (nil when absent).
func (e *exprEnv) operand(tok string, it item) (attrValue, *apiError) {
	if strings.HasPrefix(tok, ":") {
		v, ok := e.values[tok]
		if !ok {
			return nil, errValidation("ExpressionAttributeValues has no %s", tok)
		}
		return v, nil
	}
	p, aerr := e.path(tok)
	if aerr != nil {
		return nil, aerr
	}
	return it[p], nil
}

// evalCondition evaluates a condition expression against it (nil: no item).
func (e *exprEnv) evalCondition(expr string, it item) (bool, *apiError) {
	l, aerr := lex(expr)
	if aerr != nil {
		return false, aerr
	}
	result := true
	for {
		ok, aerr := e.term(l, it)
		if aerr != nil {
			return false, aerr
		}
		result = result && ok
		switch t := l.next(); {
		case t == "":
			return result, nil
		case strings.EqualFold(t, "AND"):
		default:
			return false, errValidation("the fake's expression subset does not include %q", t)
		}
	}
}

func (e *exprEnv) term(l *lexer, it item) (bool, *apiError) {
	t := l.next()
	switch strings.ToLower(t) {
	case "attribute_exists", "attribute_not_exists":
		if aerr := l.expect("("); aerr != nil {
			return false, aerr
		}
		p, aerr := e.path(l.next())
		if aerr != nil {
			return false, aerr
		}
		if aerr := l.expect(")"); aerr != nil {
			return false, aerr
		}
		_, exists := it[p]
		return exists == (strings.ToLower(t) == "attribute_exists"), nil
	case "begins_with":
		if aerr := l.expect("("); aerr != nil {
			return false, aerr
		}
		a, aerr := e.operand(l.next(), it)
		if aerr != nil {
			return false, aerr
		}
		if aerr := l.expect(","); aerr != nil {
			return false, aerr
		}
		b, aerr := e.operand(l.next(), it)
		if aerr != nil {
			return false, aerr
		}
		if aerr := l.expect(")"); aerr != nil {
			return false, aerr
		}
		as, aok := scalar(a)
		bs, bok := scalar(b)
		return aok && bok && as.kind == "S" && bs.kind == "S" && strings.HasPrefix(as.s, bs.s), nil
	case "not", "(", "or":
		return false, errValidation("the fake's expression subset does not include %q", t)
	}
	left, aerr := e.operand(t, it)
	if aerr != nil {
		return false, aerr
	}
	op := l.next()
	if strings.EqualFold(op, "BETWEEN") {
		lo, aerr := e.operand(l.next(), it)
		if aerr != nil {
			return false, aerr
		}
		if aerr := l.expect("AND"); aerr != nil {
			return false, aerr
		}
		hi, aerr := e.operand(l.next(), it)
		if aerr != nil {
			return false, aerr
		}
		c1, ok1 := compare(left, lo)
		c2, ok2 := compare(left, hi)
		return ok1 && ok2 && c1 >= 0 && c2 <= 0, nil
	}
	right, aerr := e.operand(l.next(), it)
	if aerr != nil {
		return false, aerr
	}
	switch op {
	case "=":
		return left != nil && right != nil && equalAV(left, right), nil
	case "<>":
		return left == nil || right == nil || !equalAV(left, right), nil
	case "<", "<=", ">", ">=":
		c, ok := compare(left, right)
		if !ok {
			return false, nil
		}
		switch op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		default:
			return c >= 0, nil
		}
	}
	return false, errValidation("the fake's expression subset does not include operator %q", op)
}

// applyUpdate applies an update expression to it (modified in place).
func (e *exprEnv) applyUpdate(expr string, it item) *apiError {
	l, aerr := lex(expr)
	if aerr != nil {
		return aerr
	}
	for l.peek() != "" {
		action := strings.ToUpper(l.next())
		for {
			p, aerr := e.path(l.next())
			if aerr != nil {
				return aerr
			}
			switch action {
			case "SET":
				if aerr := l.expect("="); aerr != nil {
					return aerr
				}
				v, aerr := e.setValue(l, it)
				if aerr != nil {
					return aerr
				}
				it[p] = v
			case "REMOVE":
				delete(it, p)
			case "ADD":
				v, aerr := e.operand(l.next(), it)
				if aerr != nil {
					return aerr
				}
				old := it[p]
				if old == nil {
					old = attrValue(`{"N":"0"}`)
				}
				sum, aerr := arith(old, v, "+")
				if aerr != nil {
					return aerr
				}
				it[p] = sum
			default:
				return errValidation("the fake's update subset does not include %q", action)
			}
			if l.peek() != "," {
				break
			}
			l.next()
		}
	}
	return nil
}

func (e *exprEnv) setValue(l *lexer, it item) (attrValue, *apiError) {
	t := l.next()
	var v attrValue
	if strings.EqualFold(t, "if_not_exists") {
		if aerr := l.expect("("); aerr != nil {
			return nil, aerr
		}
		p, aerr := e.path(l.next())
		if aerr != nil {
			return nil, aerr
		}
		if aerr := l.expect(","); aerr != nil {
			return nil, aerr
		}
		def, aerr := e.operand(l.next(), it)
		if aerr != nil {
			return nil, aerr
		}
		if aerr := l.expect(")"); aerr != nil {
			return nil, aerr
		}
		v = it[p]
		if v == nil {
			v = def
		}
	} else {
		var aerr *apiError
		if v, aerr = e.operand(t, it); aerr != nil {
			return nil, aerr
		}
	}
	if op := l.peek(); op == "+" || op == "-" {
		l.next()
		w, aerr := e.operand(l.next(), it)
		if aerr != nil {
			return nil, aerr
		}
		return arith(v, w, op)
	}
	if v == nil {
		return nil, errValidation("the provided expression refers to an attribute that does not exist in the item")
	}
	return v, nil
}

type scalarAV struct {
	kind string // S, N or B
	s    string
	b    []byte
	n    *big.Rat
}

func scalar(v attrValue) (scalarAV, bool) {
	if v == nil {
		return scalarAV{}, false
	}
	var av struct {
		S *string
		N *string
		B []byte
	}
	if json.Unmarshal(v, &av) != nil {
		return scalarAV{}, false
	}
	switch {
	case av.S != nil:
		return scalarAV{kind: "S", s: *av.S}, true
	case av.N != nil:
		r, ok := new(big.Rat).SetString(*av.N)
		return scalarAV{kind: "N", n: r}, ok
	case av.B != nil:
		return scalarAV{kind: "B", b: av.B}, true
	}
	return scalarAV{}, false
}

func compare(a, b attrValue) (int, bool) {
	x, ok1 := scalar(a)
	y, ok2 := scalar(b)
	if !ok1 || !ok2 || x.kind != y.kind {
		return 0, false
	}
	switch x.kind {
	case "S":
		return strings.Compare(x.s, y.s), true
	case "N":
		return x.n.Cmp(y.n), true
	}
	return bytes.Compare(x.b, y.b), true
}

func equalAV(a, b attrValue) bool {
	if c, ok := compare(a, b); ok {
		return c == 0
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x) // maps marshal with sorted keys
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func arith(a, b attrValue, op string) (attrValue, *apiError) {
	x, ok1 := scalar(a)
	y, ok2 := scalar(b)
	if !ok1 || !ok2 || x.kind != "N" || y.kind != "N" {
		return nil, errValidation("an operand in the update expression has an incorrect data type")
	}
	r := new(big.Rat)
	if op == "+" {
		r.Add(x.n, y.n)
	} else {
		r.Sub(x.n, y.n)
	}
	var s string
	if r.IsInt() {
		s = r.Num().String()
	} else {
		s = strings.TrimRight(r.FloatString(20), "0")
	}
	out, _ := json.Marshal(map[string]string{"N": s})
	return out, nil
}
