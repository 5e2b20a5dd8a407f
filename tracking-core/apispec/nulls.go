package apispec

import "strconv"

// walkNulls calls f with the pointer of every null member outside examples
// (where a null may be meant): in a description document a null is nearly
// always `{description: a, b}` read by YAML as the members "description: a"
// and "b: null".
func walkNulls(v any, ptr string, f func(ptr string)) {
	switch n := v.(type) {
	case map[string]any:
		for k, c := range n {
			switch {
			case k == "examples" || k == "example" || k == "default" || k == "const" || k == "enum":
			case c == nil:
				f(ptr + "/" + Escape(k))
			default:
				walkNulls(c, ptr+"/"+Escape(k), f)
			}
		}
	case []any:
		for i, c := range n {
			walkNulls(c, ptr+"/"+strconv.Itoa(i), f)
		}
	}
}
