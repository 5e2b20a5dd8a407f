package discovery

import (
	"slices"
	"testing"
)

func TestStatic(t *testing.T) {
	s, err := NewStatic(map[string][]string{
		"a": {"h2:2", "h1:1", "h2:2"},
		"b": nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Instance{{ID: "h1:1", Address: "h1:1"}, {ID: "h2:2", Address: "h2:2"}}
	if got := s.Instances("a"); !slices.Equal(got, want) {
		t.Fatalf("Instances(a) = %v, want %v", got, want)
	}
	if got := s.Instances("b"); got != nil {
		t.Fatalf("Instances(b) = %v, want nil", got)
	}
	if got := s.Instances("unknown"); got != nil {
		t.Fatalf("Instances(unknown) = %v, want nil", got)
	}
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	ch := s.Changed()
	select {
	case <-ch:
		t.Fatal("Changed closed before Close")
	default:
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-ch
	if got := s.Instances("a"); len(got) != 2 {
		t.Fatalf("after Close: Instances(a) = %v", got)
	}
}

func TestStaticRejectsAddressWithoutPort(t *testing.T) {
	if _, err := NewStatic(map[string][]string{"a": {"localhost"}}); err == nil {
		t.Fatal("NewStatic accepted an address without a port")
	}
}
