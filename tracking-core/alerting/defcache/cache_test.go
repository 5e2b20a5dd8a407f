package defcache_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/defcache"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func circle(id string, lat, lon float64) []byte {
	return fmt.Appendf(nil, `{"id":%q,"name":"F %s","geometry":{"type":"Point","coordinates":[%v,%v],"radius":50}}`, id, id, lon, lat)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling the cache's state
	}
}

// Two caches on one store (two replicas): a change made through either is
// seen by both; a deletion empties the team; other teams are untouched.
func TestCacheFollowsChanges(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitealerting.Open(ctx, sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(team, id string) {
		t.Helper()
		if _, err := st.PutDefinition(ctx, alerting.Definition{Team: team, Kind: alerting.KindFence, ID: id, JSON: circle(id, -23.55, -46.63)}); err != nil {
			t.Fatal(err)
		}
	}
	put("t1", "a")
	a := defcache.New(defcache.Config{Source: st, Poll: 20 * time.Millisecond})
	defer a.Close()
	b := defcache.New(defcache.Config{Source: st, Poll: time.Hour})
	defer b.Close()
	waitFor(t, "first load", func() bool { return a.Loaded() && b.Loaded() })
	if ix := b.Fences("t1"); ix == nil || ix.Len() != 1 {
		t.Fatalf("t1 after load: %v", ix)
	}
	if b.Fences("t2") != nil {
		t.Fatal("t2 has fences before any was put")
	}
	before := b.Fences("t1")
	put("t2", "x")
	put("t2", "y")
	b.Poke()
	waitFor(t, "t2 on b", func() bool { ix := b.Fences("t2"); return ix != nil && ix.Len() == 2 })
	waitFor(t, "t2 on a", func() bool { ix := a.Fences("t2"); return ix != nil && ix.Len() == 2 })
	if b.Fences("t1") != before {
		t.Fatal("t1's index was rebuilt though t1 did not change")
	}
	if _, err := st.DeleteDefinition(ctx, "t2", alerting.KindFence, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutDefinition(ctx, alerting.Definition{Team: "t2", Kind: alerting.KindRule, ID: "r", JSON: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deletion on a", func() bool { ix := a.Fences("t2"); return ix != nil && ix.Len() == 1 })
	if _, ok := a.Fences("t2").Fence("y"); !ok {
		t.Fatal("the fence left is not y")
	}
	if _, err := st.DeleteDefinition(ctx, "t2", alerting.KindFence, "y"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "t2 gone on a", func() bool { return a.Fences("t2") == nil })
}

func TestCacheRules(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitealerting.Open(ctx, sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(id, doc string) {
		t.Helper()
		if _, err := st.PutDefinition(ctx, alerting.Definition{Team: "t1", Kind: alerting.KindRule, ID: id, JSON: []byte(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	put("pair", `{"id":"pair","name":"Buddies","kind":"apart","workers":["w1","w2"],"distance":200,"for":"1m"}`)
	c := defcache.New(defcache.Config{Source: st, Poll: 20 * time.Millisecond})
	defer c.Close()
	waitFor(t, "first load", c.Loaded)
	rs := c.Rules("t1")
	if len(rs) != 1 || rs[0].ID != "pair" || rs[0].Team != "t1" || rs[0].Distance != 200 || rs[0].For != time.Minute {
		t.Fatalf("rules of t1 after load: %+v", rs)
	}
	put("solo", `{"id":"solo","kind":"alone","distance":50}`)
	put("bad", `{"id":"bad","kind":"apart","workers":["w1"],"distance":200}`) // one worker: left out
	waitFor(t, "solo", func() bool { return len(c.Rules("t1")) == 2 })
	if got := c.Rules("t1"); got[0].ID != "pair" || got[1].ID != "solo" {
		t.Fatalf("rules not by id, or the bad one kept: %+v", got)
	}
	if len(c.AllRules()) != 1 || c.Fences("t1") != nil {
		t.Fatalf("AllRules %v; fences %v", c.AllRules(), c.Fences("t1"))
	}
	for _, id := range []string{"pair", "solo", "bad"} {
		if _, err := st.DeleteDefinition(ctx, "t1", alerting.KindRule, id); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "no rules", func() bool { return c.Rules("t1") == nil && len(c.AllRules()) == 0 })
}

func BenchmarkFencesMiss(b *testing.B) {
	st, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(b.TempDir(), "a.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c := defcache.New(defcache.Config{Source: st, Poll: time.Hour})
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		if c.Fences("team_one") != nil {
			b.Fatal("fences")
		}
	}
}
