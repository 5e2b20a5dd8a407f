package service

import (
	"testing"

	"github.com/teamtrack/tracking-core/buildinfo"
)

// A replica's registry carries build_info with this binary's build.
func TestRegistryHasBuildInfo(t *testing.T) {
	mfs, err := NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	bi := buildinfo.Get()
	for _, mf := range mfs {
		if mf.GetName() != "build_info" {
			continue
		}
		labels := map[string]string{}
		for _, l := range mf.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		want := map[string]string{"version": bi.Version, "commit": bi.Commit, "date": bi.Date, "goversion": bi.GoVersion}
		for k, v := range want {
			if labels[k] != v {
				t.Errorf("build_info %s=%q, want %q", k, labels[k], v)
			}
		}
		if g := mf.GetMetric()[0].GetGauge().GetValue(); g != 1 {
			t.Errorf("build_info = %v, want 1", g)
		}
		return
	}
	t.Fatal("no build_info in the registry")
}
