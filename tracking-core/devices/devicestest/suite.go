package devicestest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/devices"
)

// NewStore returns a fresh, empty store of the backend under test (its own
// file or schema). The suite closes it; whatever else it needs undone the
// constructor registers with t.Cleanup.
type NewStore func(t *testing.T) devices.Store

// Run runs every conformance case against the backend, in parallel, each on
// a store of its own.
func Run(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		run  func(t *testing.T, st devices.Store)
	}{
		{"PutAndGet", putAndGet},
		{"ReplaceKeepsCreatedAt", replace},
		{"SecretSurvivesStorage", secretStored},
		{"ListPages", listPages},
		{"ListByteOrder", listByteOrder},
		{"Delete", deleteDevice},
		{"NotFound", notFound},
		{"BadInputNamesTheField", badInput},
		{"ConcurrentPutsOfOneID", concurrentPuts},
		{"ReadyAndCloseTwice", readyClose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			t.Cleanup(func() { _ = st.Close() })
			c.run(t, st)
		})
	}
}

// base is short for Base.
var base = Base

// Base is the instant the cases start from (a fixed one in the past, with
// nanoseconds and not in UTC, so that the stamping shows); exported for
// backends' own tests.
var Base = time.Date(2026, 3, 14, 10, 26, 53, 589793238, time.FixedZone("CET", 3600))

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// Device returns a device of team for worker, put at at, with a label and
// no secret.
func Device(id, team, worker string, at time.Time) devices.Device {
	return devices.Device{ID: id, Team: team, Worker: worker, Label: "phone of " + worker, UpdatedAt: at}
}

func put(t *testing.T, st devices.Store, d devices.Device, wantCreated bool) devices.Device {
	t.Helper()
	got, created, err := st.Put(ctx(t), d)
	if err != nil {
		t.Fatalf("Put %s: %v", d.ID, err)
	}
	if created != wantCreated {
		t.Fatalf("Put %s: created %v, want %v", d.ID, created, wantCreated)
	}
	return got
}

func get(t *testing.T, st devices.Store, id string) devices.Device {
	t.Helper()
	d, err := st.Get(ctx(t), id)
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	return d
}

func list(t *testing.T, st devices.Store, team, after string, limit int) []devices.Device {
	t.Helper()
	ds, err := st.List(ctx(t), team, after, limit)
	if err != nil {
		t.Fatalf("List %q after %q: %v", team, after, err)
	}
	return ds
}

// wantCode fails unless err is a *tracking.Error with code (and, when
// field is not empty, naming field).
func wantCode(t *testing.T, what string, err error, code tracking.Code, field string) {
	t.Helper()
	var te *tracking.Error
	if !errors.As(err, &te) || te.Code != code || (field != "" && te.Field != field) {
		t.Fatalf("%s: error %v, want code %s naming %q", what, err, code, field)
	}
}

// same fails unless got is want, times compared as instants and required
// in UTC.
func same(t *testing.T, what string, got, want devices.Device) {
	t.Helper()
	if got.ID != want.ID || got.Team != want.Team || got.Worker != want.Worker || got.Label != want.Label ||
		!bytes.Equal(got.SecretHash, want.SecretHash) || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.UpdatedAt.Equal(want.UpdatedAt) || got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func ids(ds []devices.Device) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return strings.Join(out, ",")
}

func putAndGet(t *testing.T, st devices.Store) {
	d := Device("123456", "team_one", "w-1", base)
	want := d
	want.CreatedAt, want.UpdatedAt = devices.Stamp(base), devices.Stamp(base)
	if want.UpdatedAt.Nanosecond()%1000 != 0 || want.UpdatedAt.Equal(base) {
		t.Fatal("the suite's base time has no nanoseconds to drop")
	}
	got := put(t, st, d, true)
	same(t, "Put's answer", got, want)
	same(t, "Get", get(t, st, "123456"), want)
	// Every character an id may have, at the longest; an OwnTracks id.
	long := strings.Repeat("aZ09_.:@/-", devices.MaxIDLen/10) + "12345678"[:devices.MaxIDLen%10]
	for _, id := range []string{long, devices.OwnTracksID("ana", "pixel8"), "x"} {
		d := Device(id, "team_two", "worker.two:2", base)
		d.Label = "Ana's Pixel 8 — ünïcode"
		want := d
		want.CreatedAt, want.UpdatedAt = devices.Stamp(base), devices.Stamp(base)
		same(t, "Put's answer for "+id, put(t, st, d, true), want)
		same(t, "Get of "+id, get(t, st, id), want)
	}
	// No label is fine, and ids are case-sensitive.
	d = Device("PHONE-7", "team_one", "w-2", base)
	d.Label = ""
	put(t, st, d, true)
	put(t, st, Device("phone-7", "team_one", "w-3", base), true)
	if g := get(t, st, "PHONE-7"); g.Worker != "w-2" || g.Label != "" {
		t.Fatalf("Get PHONE-7: %+v", g)
	}
	if g := get(t, st, "phone-7"); g.Worker != "w-3" {
		t.Fatalf("Get phone-7: %+v", g)
	}
}

func replace(t *testing.T, st devices.Store) {
	d := Device("phone-7", "team_one", "w-1", base)
	d.SecretHash = devices.HashSecret("the first secret, long enough")
	first := put(t, st, d, true)
	// Handed to another worker of another team, a new secret, a later time.
	later := base.Add(90 * time.Minute)
	d2 := devices.Device{ID: "phone-7", Team: "team_two", Worker: "w-9", Label: "spare",
		SecretHash: devices.HashSecret("the second secret, long enough"), UpdatedAt: later,
		CreatedAt: base.Add(time.Hour)} // ignored
	want := d2
	want.CreatedAt, want.UpdatedAt = first.CreatedAt, devices.Stamp(later)
	same(t, "Put's answer to a replace", put(t, st, d2, false), want)
	stored := get(t, st, "phone-7")
	same(t, "Get after a replace", stored, want)
	if stored.UpdatedAt.Equal(first.UpdatedAt) {
		t.Fatal("UpdatedAt did not change")
	}
	if devices.CheckSecret(stored.SecretHash, "the first secret, long enough") ||
		!devices.CheckSecret(stored.SecretHash, "the second secret, long enough") {
		t.Fatal("a replace did not rotate the secret")
	}
	// A replace without a hash removes the secret.
	d3 := Device("phone-7", "team_two", "w-9", later.Add(time.Second))
	if got := put(t, st, d3, false); got.HasSecret() || !got.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("replace without a secret: %+v", got)
	}
	if got := get(t, st, "phone-7"); got.HasSecret() {
		t.Fatalf("Get after removing the secret: %+v", got)
	}
	if n := len(list(t, st, "", "", 10)); n != 1 {
		t.Fatalf("%d devices after replaces, want 1", n)
	}
	if got := list(t, st, "team_one", "", 10); len(got) != 0 {
		t.Fatalf("the device is still listed in its old team: %s", ids(got))
	}
}

func secretStored(t *testing.T, st devices.Store) {
	secret := devices.NewSecret()
	d := Device("phone-1", "team_one", "w-1", base)
	d.SecretHash = devices.HashSecret(secret)
	put(t, st, d, true)
	for _, got := range []devices.Device{get(t, st, "phone-1"), list(t, st, "team_one", "", 10)[0]} {
		if !bytes.Equal(got.SecretHash, d.SecretHash) {
			t.Fatalf("stored hash %x, want %x", got.SecretHash, d.SecretHash)
		}
		if !devices.CheckSecret(got.SecretHash, secret) {
			t.Fatal("CheckSecret refuses the secret after storage")
		}
		if devices.CheckSecret(got.SecretHash, secret[:len(secret)-1]) || devices.CheckSecret(got.SecretHash, "") {
			t.Fatal("CheckSecret accepts another secret after storage")
		}
	}
	// Without a secret: empty, and nothing is accepted.
	put(t, st, Device("phone-2", "team_one", "w-2", base), true)
	if got := get(t, st, "phone-2"); got.HasSecret() || devices.CheckSecret(got.SecretHash, secret) {
		t.Fatalf("a device without a secret came back with %x", got.SecretHash)
	}
}

func listPages(t *testing.T, st devices.Store) {
	var one, all []string
	for i := range 25 {
		team := "team_one"
		if i%3 == 0 {
			team = "team_two"
		}
		id := fmt.Sprintf("phone-%02d", 24-i) // put out of id order
		put(t, st, Device(id, team, fmt.Sprintf("w-%d", i), base.Add(time.Duration(i)*time.Second)), true)
		if team == "team_one" {
			one = append(one, id)
		}
		all = append(all, id)
	}
	slices.Sort(one)
	slices.Sort(all)
	for _, c := range []struct {
		team  string
		limit int
		want  []string
	}{
		{"", 7, all}, {"", 25, all}, {"", devices.MaxLimit, all}, {"team_one", 4, one}, {"team_one", 1, one},
	} {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > len(c.want)+1 {
				t.Fatalf("List %q limit %d does not end", c.team, c.limit)
			}
			page := list(t, st, c.team, after, c.limit)
			if len(page) > c.limit {
				t.Fatalf("List %q limit %d: %d devices", c.team, c.limit, len(page))
			}
			for _, d := range page {
				if c.team != "" && d.Team != c.team {
					t.Fatalf("List %q returned %+v", c.team, d)
				}
				got = append(got, d.ID)
			}
			if len(page) < c.limit {
				break
			}
			after = page[len(page)-1].ID
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Fatalf("List %q by pages of %d:\n got %v\nwant %v", c.team, c.limit, got, c.want)
		}
	}
	// A listed device is whole.
	want := Device("phone-00", "team_two", "w-24", base.Add(24*time.Second))
	want.CreatedAt, want.UpdatedAt = devices.Stamp(want.UpdatedAt), devices.Stamp(want.UpdatedAt)
	same(t, "a listed device", list(t, st, "team_two", "", 1)[0], want)
	// after need not be stored; past the end, nothing.
	if got := ids(list(t, st, "", "phone-05x", 2)); got != "phone-06,phone-07" {
		t.Fatalf("List after phone-05x: %s", got)
	}
	if got := list(t, st, "", "phone-24", 10); len(got) != 0 {
		t.Fatalf("List after the last: %s", ids(got))
	}
	if got := list(t, st, "team_three", "", 10); len(got) != 0 {
		t.Fatalf("List of a team without devices: %s", ids(got))
	}
}

// Ids are ordered byte by byte (as Go compares strings), whatever the
// database's collation.
func listByteOrder(t *testing.T, st devices.Store) {
	want := []string{"b1", "A", "b-1", "b.1", "b/1", "b:1", "b@1", "B", "a", "_", "Z", "b_1", "0", "ana/pixel", "ana-pixel"}
	for _, id := range want {
		put(t, st, Device(id, "team_one", "w-1", base), true)
	}
	slices.Sort(want)
	if got := ids(list(t, st, "", "", 100)); got != strings.Join(want, ",") {
		t.Fatalf("List order:\n got %s\nwant %s", got, strings.Join(want, ","))
	}
	if got := ids(list(t, st, "team_one", "b.1", 2)); got != "b/1,b1" {
		t.Fatalf("List after b.1: %s, want b/1,b1", got)
	}
}

func deleteDevice(t *testing.T, st devices.Store) {
	put(t, st, Device("phone-1", "team_one", "w-1", base), true)
	put(t, st, Device("phone-2", "team_one", "w-2", base), true)
	if err := st.Delete(ctx(t), "phone-1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := st.Get(ctx(t), "phone-1")
	wantCode(t, "Get of a deleted device", err, tracking.CodeNotFound, "")
	err = st.Delete(ctx(t), "phone-1")
	wantCode(t, "a second Delete", err, tracking.CodeNotFound, "")
	if got := ids(list(t, st, "", "", 10)); got != "phone-2" {
		t.Fatalf("List after Delete: %s", got)
	}
	// A deleted id may be registered again: a new device.
	again := put(t, st, Device("phone-1", "team_two", "w-7", base.Add(time.Hour)), true)
	if !again.CreatedAt.Equal(devices.Stamp(base.Add(time.Hour))) {
		t.Fatalf("a device registered again kept its old CreatedAt: %+v", again)
	}
}

func notFound(t *testing.T, st devices.Store) {
	put(t, st, Device("phone-1", "team_one", "w-1", base), true)
	for _, id := range []string{"phone-2", "PHONE-1", "phone-1/x", "phone-"} {
		_, err := st.Get(ctx(t), id)
		wantCode(t, "Get of "+id, err, tracking.CodeNotFound, "")
		if !strings.Contains(err.Error(), id+" is not registered") {
			t.Fatalf("Get of %s: the message %q does not say what is wrong", id, err)
		}
		wantCode(t, "Delete of "+id, st.Delete(ctx(t), id), tracking.CodeNotFound, "")
	}
}

func badInput(t *testing.T, st devices.Store) {
	ok := func() devices.Device {
		d := Device("phone-1", "team_one", "w-1", base)
		d.SecretHash = devices.HashSecret("a secret of some length")
		return d
	}
	for _, c := range []struct {
		field string
		edit  func(d *devices.Device)
	}{
		{"id", func(d *devices.Device) { d.ID = "" }},
		{"id", func(d *devices.Device) { d.ID = "phone 1" }},
		{"id", func(d *devices.Device) { d.ID = "phone#1" }},
		{"id", func(d *devices.Device) { d.ID = "téléphone" }},
		{"id", func(d *devices.Device) { d.ID = strings.Repeat("x", devices.MaxIDLen+1) }},
		{"team", func(d *devices.Device) { d.Team = "" }},
		{"team", func(d *devices.Device) { d.Team = "team/one" }},
		{"workerId", func(d *devices.Device) { d.Worker = "" }},
		{"workerId", func(d *devices.Device) { d.Worker = "w@1" }},
		{"workerId", func(d *devices.Device) { d.Worker = strings.Repeat("w", 65) }},
		{"label", func(d *devices.Device) { d.Label = strings.Repeat("x", devices.MaxLabelLen+1) }},
		{"label", func(d *devices.Device) { d.Label = "bad \xff" }},
		{"secret", func(d *devices.Device) { d.SecretHash = []byte("plain text secret, not a hash") }},
		{"secret", func(d *devices.Device) { d.SecretHash = d.SecretHash[:len(d.SecretHash)-1] }},
		{"updatedAt", func(d *devices.Device) { d.UpdatedAt = time.Time{} }},
	} {
		d := ok()
		c.edit(&d)
		_, _, err := st.Put(ctx(t), d)
		wantCode(t, fmt.Sprintf("Put with a bad %s (%+v)", c.field, d), err, tracking.CodeInvalidField, c.field)
	}
	if got := list(t, st, "", "", 10); len(got) != 0 {
		t.Fatalf("refused puts stored %s", ids(got))
	}
	// The limits themselves are fine.
	edge := ok()
	edge.ID, edge.Worker = strings.Repeat("x", devices.MaxIDLen), strings.Repeat("w", 64)
	edge.Label = strings.Repeat("é", devices.MaxLabelLen/2)
	put(t, st, edge, true)

	for _, c := range []struct{ what, id, field string }{
		{"no id", "", "id"}, {"a bad id", "a b", "id"}, {"a long id", strings.Repeat("x", devices.MaxIDLen+1), "id"},
	} {
		_, err := st.Get(ctx(t), c.id)
		wantCode(t, "Get of "+c.what, err, tracking.CodeInvalidField, c.field)
		wantCode(t, "Delete of "+c.what, st.Delete(ctx(t), c.id), tracking.CodeInvalidField, c.field)
	}
	for _, c := range []struct {
		team, after string
		limit       int
		field       string
	}{
		{"", "", 0, "limit"}, {"", "", devices.MaxLimit + 1, "limit"}, {"", "", -1, "limit"},
		{"bad team", "", 10, "team"}, {"", "a b", 10, "after"},
	} {
		_, err := st.List(ctx(t), c.team, c.after, c.limit)
		wantCode(t, fmt.Sprintf("List(%q, %q, %d)", c.team, c.after, c.limit), err, tracking.CodeInvalidField, c.field)
	}
}

func concurrentPuts(t *testing.T, st devices.Store) {
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	workers := map[string]bool{}
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			d := Device("phone-1", "team_one", fmt.Sprintf("w-%d", i), base.Add(time.Duration(i)*time.Second))
			got, c, err := st.Put(ctx(t), d)
			if err != nil {
				t.Errorf("concurrent Put: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			workers[got.Worker] = true
			if c {
				created++
			}
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	if created != 1 {
		t.Fatalf("%d concurrent Puts of one new id: %d created, want 1", n, created)
	}
	all := list(t, st, "", "", 10)
	if len(all) != 1 {
		t.Fatalf("after %d concurrent Puts of one id: %s", n, ids(all))
	}
	// One of them won, whole; CreatedAt is the creator's time (which, the
	// times being the callers', may be after the winner's UpdatedAt).
	d := all[0]
	createdAfter := d.CreatedAt.Sub(devices.Stamp(base))
	if !workers[d.Worker] || d.UpdatedAt.Sub(devices.Stamp(base)) != time.Duration(d.Worker[2]-'0')*time.Second ||
		createdAfter < 0 || createdAfter >= n*time.Second || createdAfter%time.Second != 0 {
		t.Fatalf("after concurrent Puts: %+v", d)
	}
}

func readyClose(t *testing.T, st devices.Store) {
	if err := st.Ready(ctx(t)); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	put(t, st, Device("phone-1", "team_one", "w-1", base), true)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for what, err := range map[string]error{
		"Ready":  st.Ready(ctx(t)),
		"Get":    func() error { _, err := st.Get(ctx(t), "phone-1"); return err }(),
		"Put":    func() error { _, _, err := st.Put(ctx(t), Device("phone-2", "team_one", "w-1", base)); return err }(),
		"List":   func() error { _, err := st.List(ctx(t), "", "", 10); return err }(),
		"Delete": st.Delete(ctx(t), "phone-1"),
	} {
		if !errors.Is(err, devices.ErrClosed) {
			t.Fatalf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
}
