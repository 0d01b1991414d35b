package awsfake

import (
	"testing"
)

var exprCases = []struct {
	expr string
	want bool
	bad  bool
}{
	{expr: "attribute_not_exists(#k)", want: false},
	{expr: "attribute_exists(#k) AND #s = :p", want: true},
	{expr: "n BETWEEN :lo AND :hi", want: true},
	{expr: "n > :hi", want: false},
	{expr: "begins_with(#s, :pre)", want: true},
	{expr: "#s <> :p", want: false},
	{expr: "#s = :p OR n = :lo", bad: true},
	{expr: "NOT attribute_exists(n)", bad: true},
	{expr: "#missing = :p", bad: true},
	{expr: "n = :missing", bad: true},
	{expr: "n = ", bad: true},
	{expr: "n ~ :p", bad: true},
}

func exprEnvForTest() (*exprEnv, item) {
	env := &exprEnv{
		names: map[string]string{"#k": "key", "#s": "status"},
		values: map[string]attrValue{
			":p": attrValue(`{"S":"pending"}`), ":pre": attrValue(`{"S":"pen"}`),
			":lo": attrValue(`{"N":"1"}`), ":hi": attrValue(`{"N":"10.5"}`),
		},
	}
	it := item{"key": attrValue(`{"S":"k1"}`), "status": attrValue(`{"S":"pending"}`), "n": attrValue(`{"N":"3"}`)}
	return env, it
}

func TestEvalCondition(t *testing.T) {
	env, it := exprEnvForTest()
	for _, tt := range exprCases {
		got, aerr := env.evalCondition(tt.expr, it)
		if (aerr != nil) != tt.bad || (aerr == nil && got != tt.want) {
			t.Errorf("%q = %v, %v; want %v (error %v)", tt.expr, got, aerr, tt.want, tt.bad)
		}
	}
}

func TestApplyUpdate(t *testing.T) {
	env, it := exprEnvForTest()
	if aerr := env.applyUpdate("SET #s = :p, m = if_not_exists(m, :lo) ADD n :hi REMOVE key", it); aerr != nil {
		t.Fatal(aerr)
	}
	if string(it["n"]) != `{"N":"13.5"}` || string(it["m"]) != `{"N":"1"}` || it["key"] != nil {
		t.Errorf("item after update = %v", it)
	}
	for _, bad := range []string{"SET n = #s + :lo", "DELETE n :lo", "SET = :p", "SET m = nothere"} {
		env, it := exprEnvForTest()
		if aerr := env.applyUpdate(bad, it); aerr == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzExpressions: the expression parser must answer every input with a
// result or a ValidationException, never a panic or a hang.
func FuzzExpressions(f *testing.F) {
	for _, tt := range exprCases {
		f.Add(tt.expr)
	}
	f.Add("SET a = :p, b = b + :lo REMOVE c ADD n :hi")
	f.Fuzz(func(t *testing.T, expr string) {
		env, it := exprEnvForTest()
		_, _ = env.evalCondition(expr, it)
		_ = env.applyUpdate(expr, it)
	})
}
